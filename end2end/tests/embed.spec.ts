import { test, expect, signIn, hydrated, ADMIN, VIEWER } from './fixtures';
import { test as plain, type Browser, type Page } from '@playwright/test';
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// Cross-site for real: Gatehouse on 127.0.0.1 (Playwright's server), a portal on
// localhost:P and an attacker on 127.0.0.2:P — three different sites, served by one Node
// server that tells them apart by the Host header. The portal's "backend" signs embed tokens
// with the portal's own embed secret, which an Admin copies from the APIs tab.

const GATEHOUSE = `http://127.0.0.1:${process.env.E2E_PORT ?? 3107}`;
let server: Server;
let port = 0;
let secret = '';
const portal = () => `http://localhost:${port}`;
const attacker = () => `http://127.0.0.2:${port}`;

function sign(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const data = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${data}.${createHmac('sha256', secret).update(data).digest('base64url')}`;
}

function tokenFor(email: string, tab = 'users'): string {
  const now = Math.floor(Date.now() / 1000);
  return sign({ sub: email, aud: 'gatehouse-embed', origin: portal(), iat: now, exp: now + 120, jti: randomUUID(), tab });
}

const escape = (s: string) => s.replace(/[&"<>]/g, (c) => `&#${c.charCodeAt(0)};`);

// The portal page: embed.js, the element, and a log of the element's events (with times).
function portalPage(token: string | null, tab: string): string {
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Portal</title><link rel="icon" href="data:,">
<script src="${GATEHOUSE}/embed.js"></script></head><body><h1>Portal</h1>
<gatehouse-security id="gh" src="${GATEHOUSE}" tab="${escape(tab)}" ${token ? `token="${escape(token)}"` : ''}></gatehouse-security>
<script>
  window.events = [];
  const el = document.getElementById('gh');
  for (const type of ['gatehouse:ready', 'gatehouse:navigated', 'gatehouse:resize', 'gatehouse:error', 'gatehouse:session-expiring']) {
    el.addEventListener(type, (e) => window.events.push({ type, detail: e.detail, at: performance.now() }));
  }
</script></body></html>`;
}

plain.beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', `http://${req.headers.host}`);
    const fromAttacker = req.headers.host?.startsWith('127.0.0.2');
    let html: string;
    if (!fromAttacker && url.pathname === '/portal') {
      const token = url.searchParams.get('token') ?? (url.searchParams.has('as') ? tokenFor(url.searchParams.get('as')!) : null);
      html = portalPage(token, url.searchParams.get('tab') ?? 'users');
    } else if (fromAttacker && url.pathname === '/frame') {
      html = `<!DOCTYPE html><title>Attacker</title><link rel="icon" href="data:,"><iframe src="${GATEHOUSE}/embed/security/users?origin=${encodeURIComponent(attacker())}"></iframe>`;
    } else if (fromAttacker && url.pathname === '/forge') {
      // Opens the portal (no token yet) and posts a forged gatehouse:auth into its frame.
      html = `<!DOCTYPE html><title>Attacker</title><link rel="icon" href="data:,"><script>
        window.forge = (token) => {
          const w = window.open(${JSON.stringify(`${portal()}/portal`)});
          window.sent = 0;
          const timer = setInterval(() => {
            try {
              if (w.frames.length) {
                w.frames[0].postMessage({ type: 'gatehouse:auth', v: 1, payload: { token } }, '*');
                window.sent++;
              }
            } catch (_) {}
            if (window.sent >= 5) clearInterval(timer);
          }, 300);
        };
      </script>`;
    } else {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, () => resolve()));
  port = (server.address() as AddressInfo).port;
});

plain.afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/**
 * A fresh browser context: no Gatehouse cookie, as a portal's visitor has. Its console errors
 * (the frame's included) are collected for the test to assert.
 */
async function visitor(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  return { page, errors };
}

const frameOf = (page: Page) => page.frameLocator('gatehouse-security iframe');

test.describe.configure({ mode: 'serial' });

test('an Admin allows the portal and copies the embed secret on the APIs tab', async ({ page }) => {
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fapis');
  await signIn(page, ADMIN);
  await hydrated(page);
  const card = page.locator('.embed-card');
  await expect(card.getByRole('heading', { name: 'Portal embedding' })).toBeVisible();
  await expect(card).toContainText('No portal may embed this page yet.');
  // A bad origin is refused beside the field and kept for correction.
  await card.getByRole('textbox', { name: 'Portal origin' }).fill('localhost:1234/path');
  await card.getByRole('button', { name: 'Add origin' }).click();
  await expect(card.locator('#origin-error')).toContainText('https://');
  await expect(card.getByRole('textbox', { name: 'Portal origin' })).toHaveValue('localhost:1234/path');
  await card.getByRole('textbox', { name: 'Portal origin' }).fill(portal());
  await card.getByRole('button', { name: 'Add origin' }).click();
  await expect(card.getByRole('list', { name: 'Allowed portal origins' })).toContainText(portal());
  await expect(card.getByRole('textbox', { name: 'Portal origin' })).toHaveValue('');

  // The portal has a secret of its own; no shared secret is offered while none signs with one.
  const label = `Secret of ${portal()}`;
  await card.getByRole('button', { name: `Show ${label}` }).click();
  await expect(card.getByLabel(label, { exact: true })).toHaveValue(/^gatehouse_embed_[A-Za-z0-9_-]{43}$/);
  secret = await card.getByLabel(label, { exact: true }).inputValue();
  await expect(card.getByRole('heading', { name: 'Shared embed secret' })).toHaveCount(0);
  await expect(card.locator('.embed-snippet')).toContainText(`<script src="${GATEHOUSE}/embed.js" defer></script>`);
});

test('the portal embeds Users and APIs for an Admin, sized to content, without cookies', async ({ browser }) => {
  const { page, errors } = await visitor(browser);
  // What the frame downloads from Gatehouse (bodies as received, headers included), for the note.
  const sizes: Promise<number>[] = [];
  page.on('requestfinished', (r) => {
    if (r.url().startsWith(GATEHOUSE)) sizes.push(r.sizes().then((s) => s.responseBodySize + s.responseHeadersSize));
  });
  await page.goto(`${portal()}/portal?as=${encodeURIComponent(ADMIN.email)}&tab=users`);
  const frame = frameOf(page);
  await expect(frame.getByRole('tab', { name: 'Users' })).toHaveAttribute('aria-selected', 'true');
  await expect(frame.locator('table.principals').getByRole('row', { name: /admin@e2e\.test/ })).toBeVisible();
  // Chromeless: no site header, no Sign out.
  await expect(frame.getByRole('button', { name: 'Sign out' })).toHaveCount(0);

  // Token handed over (the frame's ready) → tab visible (its first navigated), in the portal.
  await expect.poll(() => page.evaluate(() => (window as any).events.some((e: any) => e.type === 'gatehouse:navigated'))).toBe(true);
  const timing = await page.evaluate(() => {
    const ev = (window as any).events as { type: string; at: number; detail: any }[];
    const ready = ev.find((e) => e.type === 'gatehouse:ready')!;
    const shown = ev.find((e) => e.type === 'gatehouse:navigated')!;
    return { ms: shown.at - ready.at, tab: shown.detail.tab };
  });
  expect(timing.tab).toBe('users');
  test.info().annotations.push({ type: 'embed time to interactive', description: `${Math.round(timing.ms)} ms` });
  const bytes = (await Promise.all(sizes)).reduce((a, b) => a + b, 0);
  console.log(`[embed] token handed over -> Users tab visible: ${Math.round(timing.ms)} ms; ${sizes.length} responses, ${bytes} bytes from Gatehouse`);

  // The frame grows to its content.
  const iframe = page.locator('gatehouse-security iframe');
  await expect.poll(async () => (await iframe.boundingBox())!.height).toBeGreaterThan(480);
  const content = await frame.locator('html').evaluate((el) => Math.ceil(el.getBoundingClientRect().height));
  expect(Math.abs((await iframe.boundingBox())!.height - content)).toBeLessThan(4);

  // The portal navigates the frame; the frame reports it.
  await page.locator('gatehouse-security').evaluate((el) => el.setAttribute('tab', 'apis'));
  await expect(frame.getByRole('tab', { name: 'APIs' })).toHaveAttribute('aria-selected', 'true');
  await expect(frame.getByRole('heading', { name: 'APIs', level: 2 })).toBeVisible();
  await expect.poll(() => page.evaluate(() => (window as any).events.filter((e: any) => e.type === 'gatehouse:navigated').map((e: any) => e.detail.tab))).toEqual(['users', 'apis']);
  // A tab clicked inside the frame stays in the frame.
  await frame.getByRole('tab', { name: 'Key Vault' }).click();
  await expect(frame.getByRole('tab', { name: 'Key Vault' })).toHaveAttribute('aria-selected', 'true');
  expect(page.url()).toBe(`${portal()}/portal?as=${encodeURIComponent(ADMIN.email)}&tab=users`);
  // The frame's address follows the selected tab a moment later (client-side navigation).
  await expect.poll(() => page.frames().some((f) => f.url().startsWith(`${GATEHOUSE}/embed/security/key-vault`))).toBe(true);

  // Nothing in the frame needed or stored a cookie.
  expect(await page.context().cookies()).toEqual([]);
  expect(errors).toEqual([]);
  await page.context().close();
});

test("a Viewer's token shows the 403 panel in the frame", async ({ browser }) => {
  const { page, errors } = await visitor(browser);
  await page.goto(`${portal()}/portal?as=${encodeURIComponent(VIEWER.email)}`);
  await expect(frameOf(page).getByRole('alert')).toContainText('Only administrators can open the Security page.');
  await expect(frameOf(page).getByRole('tablist')).toHaveCount(0);
  await expect.poll(() => page.evaluate(() => (window as any).events.filter((e: any) => e.type === 'gatehouse:error').map((e: any) => e.detail.code))).toEqual(['forbidden']);
  expect(errors).toEqual([]);
  await page.context().close();
});

test('a replayed token is refused, with the reason in the frame and to the portal', async ({ browser }) => {
  const token = tokenFor(ADMIN.email);
  const { page: first, errors } = await visitor(browser);
  await first.goto(`${portal()}/portal?token=${encodeURIComponent(token)}`);
  await expect(frameOf(first).getByRole('tab', { name: 'Users' })).toBeVisible();
  expect(errors).toEqual([]);
  await first.context().close();

  const { page: again, errors: refused } = await visitor(browser);
  await again.goto(`${portal()}/portal?token=${encodeURIComponent(token)}`);
  await expect(frameOf(again).getByRole('alert')).toContainText('This embed token was used already');
  await expect.poll(() => again.evaluate(() => (window as any).events.filter((e: any) => e.type === 'gatehouse:error').map((e: any) => e.detail.code))).toEqual(['token_replayed']);
  // The browser logs the refused exchange (401), and nothing else.
  expect(refused).toHaveLength(1);
  expect(refused[0]).toContain('status of 401');
  expect(refused[0]).toContain('/embed/session');
  await again.context().close();
});

// The attacker's pages make the browser log what it refused; those lines are what is asserted.
plain('an attacker origin cannot frame the page', async ({ browser }) => {
  const { page } = await visitor(browser);
  const logged: string[] = [];
  page.on('console', (m) => logged.push(m.text()));
  const document = page.waitForResponse((r) => r.url().startsWith(`${GATEHOUSE}/embed/security/users`));
  await page.goto(`${attacker()}/frame`);
  const res = await document;
  expect(res.headers()['content-security-policy']).toContain(`frame-ancestors ${portal()};`);
  await expect.poll(() => logged.some((l) => l.includes('frame-ancestors'))).toBe(true);
  await expect(page.frameLocator('iframe').getByText('Connecting to the portal')).toHaveCount(0);
  await page.context().close();
});

plain('a forged gatehouse:auth from another origin starts no session', async ({ browser }) => {
  const { page } = await visitor(browser);
  const exchanges: string[] = [];
  page.context().on('request', (r) => {
    if (r.url().includes('/embed/session')) exchanges.push(r.url());
  });
  await page.goto(`${attacker()}/forge`);
  const popup = page.waitForEvent('popup');
  await page.evaluate((t) => (window as any).forge(t), tokenFor(ADMIN.email));
  const portalWindow = await popup;
  await expect(frameOf(portalWindow).getByText('Connecting to the portal')).toBeVisible();
  await expect.poll(() => page.evaluate(() => (window as any).sent)).toBeGreaterThanOrEqual(5);
  await portalWindow.waitForTimeout(500);
  expect(exchanges).toEqual([]);
  await expect(frameOf(portalWindow).getByText('Connecting to the portal')).toBeVisible();
  await page.context().close();
});
