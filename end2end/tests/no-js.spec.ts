import { test, expect, signIn, ADMIN, TABS } from './fixtures';

test('sign-in works with JavaScript disabled', async ({ page }) => {
  await page.goto('/admin/security/apis');
  await expect(page).toHaveURL(/\/login\?next=/);
  await signIn(page, ADMIN);
  await expect(page).toHaveURL('/admin/security/apis');
  await expect(page.getByRole('tab', { name: 'APIs' })).toHaveAttribute('aria-selected', 'true');
  for (const tab of TABS) {
    await page.getByRole('tab', { name: tab.name, exact: true }).click();
    await expect(page).toHaveURL(tab.path);
  }
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL('/login');
});

test('the Users list searches, sorts and pages with JavaScript disabled', async ({ page }) => {
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fusers');
  await signIn(page, ADMIN);
  await expect(page).toHaveURL('/admin/security/users');
  await page.getByRole('searchbox', { name: 'Search' }).fill('viewer@');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL('/admin/security/users?q=viewer%40');
  const rows = page.locator('table.principals tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('viewer@e2e.test');
  await page.getByRole('link', { name: 'Role' }).click();
  await expect(page).toHaveURL('/admin/security/users?q=viewer%40&sort=role');
  await expect(page.getByRole('columnheader', { name: 'Role' })).toHaveAttribute('aria-sort', 'ascending');
  await expect(page.getByRole('searchbox', { name: 'Search' })).toHaveValue('viewer@');
});
