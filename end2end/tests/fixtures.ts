import { test as base, expect, type Page } from '@playwright/test';

export const ADMIN = { email: 'admin@e2e.test', password: 'e2e admin password' };
/**
 * What a browser labels a request from one of the site's own pages with. Playwright's API
 * requests send no Fetch Metadata, and the server refuses a signed-in write without it.
 */
export const SAME_ORIGIN = { 'Sec-Fetch-Site': 'same-origin' };

export const VIEWER = { email: 'viewer@e2e.test', password: 'e2e viewer password' };

export const TABS = [
  { name: 'Users', path: '/admin/security/users' },
  { name: 'APIs', path: '/admin/security/apis' },
  { name: 'Key Vault', path: '/admin/security/key-vault' },
  { name: 'Customer Lockbox', path: '/admin/security/lockbox' },
];

/**
 * Fails the test on any console error or uncaught exception (hydration mismatches included).
 * Chromium logs every 4xx as "Failed to load resource". Two kinds are expected and asserted by
 * the tests themselves, so their lines are ignored: a document answered with 403 or 404 on
 * purpose, and a server function refusing bad input (4xx), whose message the page shows.
 * A 5xx from a server function still fails the test.
 */
export const test = base.extend<{ consoleErrors: string[] }>({
  consoleErrors: [
    async ({ page }, use) => {
      const errors: string[] = [];
      const documents = new Set<string>();
      page.on('request', (req) => {
        if (req.isNavigationRequest()) documents.add(req.url());
      });
      page.on('console', (msg) => {
        if (msg.type() !== 'error') return;
        const failedLoad = msg.text().startsWith('Failed to load resource');
        const url = msg.location().url;
        const documentStatus = failedLoad && documents.has(url);
        const refusedInput =
          msg.text().startsWith('Failed to load resource: the server responded with a status of 4') &&
          new URL(url).pathname.startsWith('/rpc/');
        if (!documentStatus && !refusedInput) errors.push(`${msg.text()} (${url})`);
      });
      page.on('pageerror', (err) => errors.push(String(err)));
      await use(errors);
      expect(errors, 'console errors').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

export async function signIn(page: Page, who: { email: string; password: string }) {
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Waits until the WASM has hydrated the page, so that client-side behaviour is live. */
export async function hydrated(page: Page) {
  await page.locator('body[data-hydrated]').waitFor({ state: 'attached' });
}
