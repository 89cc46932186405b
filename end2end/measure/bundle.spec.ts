import { test, type BrowserContext, type CDPSession, type Page } from '@playwright/test';
import { writeFileSync } from 'node:fs';
import { ADMIN, TABS } from '../tests/fixtures';

/**
 * Bytes on the wire as Chromium receives them (CDP `encodedDataLength`: compressed body plus
 * headers), by kind, for a first visit of each tab (signed in, cold cache), for switching from
 * one tab to each other, for a second visit, and for the sign-in page; then the time until the
 * Users tab is interactive (`body[data-hydrated]`) under Chromium's "Fast 3G" preset.
 * Prints a table and writes it as JSON to the path in MEASURE_OUT, if set.
 */

type Kind = 'html' | 'js' | 'wasm' | 'css' | 'other';
type Tally = Record<Kind, number> & { total: number; files: string[] };

function kindOf(url: string, mime: string): Kind {
  const path = new URL(url).pathname;
  if (path.endsWith('.wasm')) return 'wasm';
  if (path.endsWith('.js')) return 'js';
  if (path.endsWith('.css')) return 'css';
  if (mime.includes('html')) return 'html';
  return 'other';
}

/** Counts every response's bytes on the wire from the moment it is created. */
class Wire {
  private tally = Wire.empty();
  private mimes = new Map<string, { url: string; mime: string }>();

  private constructor(readonly cdp: CDPSession) {}

  static empty(): Tally {
    return { html: 0, js: 0, wasm: 0, css: 0, other: 0, total: 0, files: [] };
  }

  static async attach(page: Page): Promise<Wire> {
    const cdp = await page.context().newCDPSession(page);
    const wire = new Wire(cdp);
    await cdp.send('Network.enable');
    cdp.on('Network.responseReceived', (e) =>
      wire.mimes.set(e.requestId, { url: e.response.url, mime: e.response.mimeType }),
    );
    cdp.on('Network.loadingFinished', (e) => {
      const r = wire.mimes.get(e.requestId);
      if (!r || e.encodedDataLength === 0) return;
      const kind = kindOf(r.url, r.mime);
      wire.tally[kind] += e.encodedDataLength;
      wire.tally.total += e.encodedDataLength;
      wire.tally.files.push(new URL(r.url).pathname);
    });
    return wire;
  }

  /** What arrived since the last call. */
  take(): Tally {
    const t = this.tally;
    this.tally = Wire.empty();
    return t;
  }
}

async function signedInContext(page: Page): Promise<BrowserContext> {
  const context = page.context();
  // The form post sets the session cookie without loading any page or bundle file.
  const res = await context.request.post('/auth/login', {
    form: { email: ADMIN.email, password: ADMIN.password, next: '/admin/security/users' },
    maxRedirects: 0,
  });
  if (res.status() !== 303) throw new Error(`sign-in answered ${res.status()}`);
  return context;
}

async function settle(page: Page) {
  await page.locator('body[data-hydrated]').waitFor({ state: 'attached', timeout: 120_000 });
  await page.waitForLoadState('networkidle');
}

const rows: Record<string, Tally> = {};
const kb = (n: number) => (n / 1000).toFixed(1);

test.afterAll(() => {
  const kinds: Kind[] = ['html', 'js', 'wasm', 'css', 'other'];
  console.log(
    ['visit'.padEnd(44), ...kinds.map((k) => k.padStart(8)), 'total kB'.padStart(10)].join(''),
  );
  for (const [name, t] of Object.entries(rows)) {
    if (name.startsWith('tti')) continue;
    console.log(
      [name.padEnd(44), ...kinds.map((k) => kb(t[k]).padStart(8)), kb(t.total).padStart(10)].join(''),
    );
  }
  for (const [name, t] of Object.entries(rows)) {
    if (name.startsWith('tti')) console.log(`${name}: ${t.total} ms`);
  }
  if (process.env.MEASURE_OUT) writeFileSync(process.env.MEASURE_OUT, JSON.stringify(rows, null, 2));
});

for (const first of TABS) {
  test(`first visit of ${first.name}, then each other tab, then a second visit`, async ({ page }) => {
    await signedInContext(page);
    const wire = await Wire.attach(page);
    await page.goto(first.path);
    await settle(page);
    await page.getByRole('heading', { level: 2, name: first.name, exact: true }).waitFor();
    rows[`first visit ${first.path}`] = wire.take();
    for (const other of TABS.filter((t) => t !== first)) {
      await page.getByRole('tab', { name: other.name, exact: true }).click();
      await page.waitForURL(other.path);
      // The tab's chunk has arrived once its panel shows.
      await page.getByRole('heading', { level: 2, name: other.name, exact: true }).waitFor();
      await page.waitForLoadState('networkidle');
      rows[`  then ${other.path.replace('/admin/security/', '')} (from ${first.name})`] = wire.take();
    }
    await page.goto(first.path);
    await settle(page);
    rows[`  second visit of ${first.name}`] = wire.take();
  });
}

test('the sign-in page', async ({ page }) => {
  const wire = await Wire.attach(page);
  await page.goto('/login');
  // A plain form: no WASM, so nothing sets data-hydrated.
  await page.waitForLoadState('networkidle');
  rows['first visit /login'] = wire.take();
});

test('time to interactive of the Users tab on Fast 3G', async ({ page }) => {
  await signedInContext(page);
  const wire = await Wire.attach(page);
  // Chromium DevTools' "Fast 3G" preset.
  await wire.cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 562.5,
    downloadThroughput: (1.6 * 1024 * 1024) / 8 * 0.9,
    uploadThroughput: (750 * 1024) / 8 * 0.9,
  });
  const started = Date.now();
  await page.goto('/admin/security/users', { waitUntil: 'commit' });
  await page.locator('body[data-hydrated]').waitFor({ state: 'attached', timeout: 120_000 });
  rows['tti /admin/security/users (Fast 3G)'] = { ...Wire.empty(), total: Date.now() - started };
});
