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
