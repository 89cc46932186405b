import { test, expect, signIn, ADMIN, TABS, SAME_ORIGIN } from './fixtures';

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

test('Edit and Remove work before hydration and without JavaScript; a search finds any part', async ({ page }) => {
  const withoutJs = test.info().project.name === 'no-js';
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fusers');
  await signIn(page, ADMIN);
  const added = await page.request.post('/rpc/principals_add', {
    headers: SAME_ORIGIN,
    form: { kind: 'group', principal: 'Crew NoJS', role: 'viewer' },
  });
  expect(added.ok()).toBeTruthy();

  // Any part of a name, in any case, highlighted in the row.
  await page.goto('/admin/security/users?q=nojs');
  const row = page.locator('table.principals').getByRole('row', { name: /Crew NoJS/ });
  await expect(row.locator('mark')).toHaveText('NoJS');
  await expect(page.getByRole('status').filter({ hasText: '“nojs”' })).toHaveText('1 principal matches “nojs”.');
  if (withoutJs) {
    // What needs the live page says so instead of losing the click.
    await expect(page.getByRole('button', { name: 'Add users' })).toBeDisabled();
  }

  await row.getByRole('button', { name: 'Edit Crew NoJS' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit Crew NoJS' });
  await expect(edit).toBeVisible();
  await expect(page).toHaveURL(/\?q=nojs&edit=\d+$/);
  await edit.getByLabel('Role').selectOption({ label: 'Contributor' });
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toHaveCount(0);
  await expect(page).toHaveURL('/admin/security/users?q=nojs');
  await expect(row).toContainText('Contributor');

  // Cancel goes back to the list; Delete removes.
  await row.getByRole('button', { name: 'Remove Crew NoJS' }).click();
  const remove = page.getByRole('dialog', { name: 'Remove Crew NoJS?' });
  await remove.getByRole('button', { name: 'Cancel' }).click();
  await expect(remove).toHaveCount(0);
  await expect(page).toHaveURL('/admin/security/users?q=nojs');
  await row.getByRole('button', { name: 'Remove Crew NoJS' }).click();
  await remove.getByRole('button', { name: 'Delete' }).click();
  await expect(page).toHaveURL('/admin/security/users?q=nojs');
  await expect(row).toHaveCount(0);

  // A refusal is shown in the pane, and nothing changes.
  await page.goto('/admin/security/users?q=admin%40e2e');
  await page.getByRole('button', { name: 'Remove Administrator' }).click();
  const last = page.getByRole('dialog', { name: 'Remove Administrator?' });
  await last.getByRole('button', { name: 'Delete' }).click();
  await expect(last.getByRole('alert')).toContainText('At least one Admin must remain.');
  await last.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.locator('table.principals').getByRole('row', { name: /admin@e2e\.test/ })).toBeVisible();
});
