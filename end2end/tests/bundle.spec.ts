import { test, expect, signIn, hydrated, ADMIN, TABS } from './fixtures';
import type { Page } from '@playwright/test';

/** Paths of the WASM files the page fetched, in order. */
function wasmFetches(page: Page): string[] {
  const seen: string[] = [];
  page.on('request', (req) => {
    const path = new URL(req.url()).pathname;
    if (path.endsWith('.wasm')) seen.push(path);
  });
  return seen;
}

/** The chunk of a lazy route's view, as cargo-leptos --split names it. */
const OWN_CHUNK: Record<string, RegExp> = {
  Users: /\/split___users_route_view_/,
  APIs: /\/split___apis_route_view_/,
  'Key Vault': /\/split___key_vault_route_view_/,
  'Customer Lockbox': /\/split___lockbox_route_view_/,
};

test("each tab's code is fetched when the tab opens, and only then", async ({ page }) => {
  const wasm = wasmFetches(page);
  const scripts: string[] = [];
  page.on('request', (req) => {
    if (req.resourceType() === 'script') scripts.push(req.url());
  });
  // The sign-in page is a plain form: no script and no WASM at all.
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fusers');
  await page.waitForLoadState('networkidle');
  expect(scripts, 'scripts on the sign-in page').toEqual([]);
  expect(wasm, 'WASM on the sign-in page').toEqual([]);
  await signIn(page, ADMIN);
  await expect(page).toHaveURL('/admin/security/users');
  await hydrated(page);
  await page.waitForLoadState('networkidle');
  expect(wasm.some((p) => OWN_CHUNK.Users.test(p)), 'the Users chunk').toBe(true);

  for (const tab of TABS.filter((t) => t.name !== 'Users')) {
    expect(wasm.some((p) => OWN_CHUNK[tab.name].test(p)), `${tab.name} before it opened`).toBe(false);
    await page.getByRole('tab', { name: tab.name, exact: true }).click();
    await expect(page).toHaveURL(tab.path);
    await expect(page.getByRole('heading', { level: 2, name: tab.name, exact: true })).toBeVisible();
    await expect.poll(() => wasm.some((p) => OWN_CHUNK[tab.name].test(p)), { message: `${tab.name} once it opened` }).toBe(true);
  }
  // Back to a tab that was open before: its code is not fetched again.
  const before = wasm.length;
  await page.getByRole('tab', { name: 'Users', exact: true }).click();
  await expect(page.getByRole('heading', { level: 2, name: 'Users', exact: true })).toBeVisible();
  await page.waitForLoadState('networkidle');
  expect(wasm.slice(before).filter((p) => OWN_CHUNK.Users.test(p))).toEqual([]);
});

test('the bundle is served precompressed and cached for a year; pages are never stored', async ({ page, request }) => {
  const bundle: { url: string; headers: Record<string, string>; status: number }[] = [];
  page.on('response', (res) => {
    if (new URL(res.url()).pathname.startsWith('/pkg/')) {
      bundle.push({ url: res.url(), headers: res.headers(), status: res.status() });
    }
  });
  const html = await page.goto('/login');
  expect(html?.headers()['cache-control']).toBe('no-store');
  await signIn(page, ADMIN);
  await expect(page).toHaveURL('/admin/security/users');
  await hydrated(page);
  expect(bundle.length).toBeGreaterThanOrEqual(3);
  for (const file of bundle) {
    const name = new URL(file.url).pathname;
    expect(file.status, name).toBe(200);
    expect(file.headers['cache-control'], name).toBe('public, max-age=31536000, immutable');
    // The hash in the name is what makes "immutable" safe.
    expect(name, name).toMatch(/\.[A-Za-z0-9_-]{8,}\.(js|wasm|css)$/);
    expect(file.headers['content-encoding'], name).toBe('br');
    // Dozens of chunks per visit: document-only headers stay off them.
    expect(file.headers['x-content-type-options'], name).toBe('nosniff');
    expect(file.headers['content-security-policy'], name).toBeUndefined();
    expect(file.headers['last-modified'], name).toBeUndefined();
  }
  const wasm = bundle.find((f) => f.url.endsWith('.wasm'))!;
  const gzip = await request.get(wasm.url, { headers: { 'Accept-Encoding': 'gzip' } });
  expect(gzip.headers()['content-encoding']).toBe('gzip');
  const plain = await request.get(wasm.url, { headers: { 'Accept-Encoding': 'identity' } });
  expect(plain.headers()['content-encoding']).toBeUndefined();
  expect(plain.headers()['content-type']).toBe('application/wasm');
  const missing = await request.get('/pkg/no-such-chunk.wasm');
  expect(missing.status()).toBe(404);
  expect(missing.headers()['cache-control']).toBe('no-store');
  const rpc = await request.post('/rpc/current_user');
  expect(rpc.headers()['cache-control']).toBe('no-store');
});
