import { test, expect, signIn, hydrated, ADMIN, VIEWER, TABS } from './fixtures';

test('the bootstrap admin signs in and sees the four tabs', async ({ page }) => {
  await page.goto('/login');
  await signIn(page, ADMIN);
  await expect(page).toHaveURL('/admin/security/users');
  await expect(page.getByRole('heading', { name: 'Security', level: 1 })).toBeVisible();
  const tablist = page.getByRole('tablist', { name: 'Security settings' });
  for (const tab of TABS) {
    await expect(tablist.getByRole('tab', { name: tab.name, exact: true })).toBeVisible();
  }
  await expect(page.getByRole('tab', { name: 'Users' })).toHaveAttribute('aria-selected', 'true');
  const admin = page.locator('table.principals').getByRole('row', { name: /admin@e2e\.test/ });
  await expect(admin).toContainText('Administrator');
  await expect(admin).toContainText('Admin');
});

test('an anonymous visit goes to sign-in and comes back to the tab', async ({ page }) => {
  await page.goto('/admin/security/key-vault');
  await expect(page).toHaveURL(/\/login\?next=%2Fadmin%2Fsecurity%2Fkey-vault$/);
  await signIn(page, ADMIN);
  await expect(page).toHaveURL('/admin/security/key-vault');
  await expect(page.getByRole('tab', { name: 'Key Vault' })).toHaveAttribute('aria-selected', 'true');
});

test('each tab is a route that survives a reload', async ({ page }) => {
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fapis');
  await signIn(page, ADMIN);
  await expect(page).toHaveURL('/admin/security/apis');
  await hydrated(page);
  await page.getByRole('tab', { name: 'Customer Lockbox' }).click();
  await expect(page).toHaveURL('/admin/security/lockbox');
  await expect(page.getByRole('tabpanel')).toContainText('Customer Lockbox');
  await page.reload();
  await expect(page.getByRole('tab', { name: 'Customer Lockbox' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('tabpanel')).toHaveAttribute('aria-labelledby', 'tab-lockbox');
});

test('arrow keys, Home and End move between tabs', async ({ page }) => {
  await page.goto('/login');
  await signIn(page, ADMIN);
  await hydrated(page);
  await page.getByRole('tab', { name: 'Users' }).focus();
  const steps: [string, string][] = [
    ['ArrowRight', 'APIs'],
    ['ArrowRight', 'Key Vault'],
    ['End', 'Customer Lockbox'],
    ['ArrowRight', 'Users'],
    ['ArrowLeft', 'Customer Lockbox'],
    ['Home', 'Users'],
  ];
  for (const [key, name] of steps) {
    await page.keyboard.press(key);
    const tab = page.getByRole('tab', { name, exact: true });
    await expect(tab).toBeFocused();
    await expect(tab).toHaveAttribute('aria-selected', 'true');
    await expect(page).toHaveURL(TABS.find((t) => t.name === name)!.path);
  }
  // Only the selected tab is in the Tab order.
  await expect(page.locator('[role="tab"][tabindex="0"]')).toHaveCount(1);
});

test('a Viewer gets the 403 page and no tabs', async ({ page }) => {
  await page.goto('/login');
  await signIn(page, VIEWER);
  const response = await page.goto('/admin/security/users');
  expect(response?.status()).toBe(403);
  await expect(page.getByRole('alert')).toContainText('Only administrators can open the Security page.');
  await expect(page.getByRole('tablist')).toHaveCount(0);
  await expect(page.getByText('Vera Viewer')).toBeVisible();
});

test('a wrong password says so and keeps the user on the form', async ({ page }) => {
  await page.goto('/login');
  await signIn(page, { email: ADMIN.email, password: 'not it' });
  await expect(page.getByRole('alert')).toHaveText('Email or password is incorrect.');
  await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
});

test('sign out ends the session', async ({ page }) => {
  await page.goto('/login');
  await signIn(page, ADMIN);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL('/login');
  await page.goto('/admin/security/users');
  await expect(page).toHaveURL(/\/login\?next=/);
});

test('no page logs a console error', async ({ page }) => {
  await page.goto('/login');
  await signIn(page, ADMIN);
  for (const tab of TABS) {
    await page.goto(tab.path);
    await hydrated(page);
  }
  await page.goto('/no/such/page');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
});
