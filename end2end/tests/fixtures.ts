import { test as base, expect, type Page } from '@playwright/test';

export const ADMIN = { email: 'admin@e2e.test', password: 'e2e admin password' };
export const VIEWER = { email: 'viewer@e2e.test', password: 'e2e viewer password' };

export const TABS = [
  { name: 'Users', path: '/admin/security/users' },
  { name: 'APIs', path: '/admin/security/apis' },
  { name: 'Key Vault', path: '/admin/security/key-vault' },
  { name: 'Customer Lockbox', path: '/admin/security/lockbox' },
];

/**
 * Fails the test on any console error or uncaught exception (hydration mismatches included).
 * A page answered with 403 or 404 on purpose makes Chromium log its status; those documents are
 * asserted by the tests themselves, so only their own "Failed to load resource" line is ignored.
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
        const documentStatus =
          msg.text().startsWith('Failed to load resource') && documents.has(msg.location().url);
        if (!documentStatus) errors.push(`${msg.text()} (${msg.location().url})`);
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
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Waits until the WASM has hydrated the page, so that client-side behaviour is live. */
export async function hydrated(page: Page) {
  await page.locator('body[data-hydrated]').waitFor({ state: 'attached' });
}
