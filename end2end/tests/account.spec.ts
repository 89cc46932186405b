import { test, expect, signIn, hydrated, ADMIN, SAME_ORIGIN } from './fixtures';

test('a user changes their password (other sessions end), signs out everywhere; an Admin resets a password', async ({ page, browser }) => {
  // An Admin invites a Viewer through the Users tab's server functions.
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fusers');
  await signIn(page, ADMIN);
  await hydrated(page);
  const email = `vic-${Date.now()}@e2e.test`;
  const added = await page.request.post('/rpc/principals_add', {
    headers: SAME_ORIGIN,
    form: { kind: 'user', principal: email, role: 'viewer' },
  });
  expect(added.status()).toBe(200);
  const { invitation_path: path, principal } = await added.json();
  const first = 'vic first password';
  const token = new URL(path, 'http://x').searchParams.get('token')!;
  const mine = await browser.newContext();
  const other = await browser.newContext();
  try {
    const vic = await mine.newPage();
    expect((await vic.request.post('/rpc/invitation_accept', {
      headers: SAME_ORIGIN,
      form: { token, name: 'Vic Viewer', password: first, confirm: first },
    })).status()).toBe(200);
    // The same user signed in elsewhere too.
    const elsewhere = await other.newPage();
    await elsewhere.goto('/login');
    await signIn(elsewhere, { email, password: first });
    await expect(elsewhere).toHaveURL('/admin/security/users');

    // From the header to the account page.
    await vic.goto('/admin/security/users');
    await hydrated(vic);
    await vic.getByRole('link', { name: 'Vic Viewer' }).click();
    await expect(vic).toHaveURL('/account');
    await hydrated(vic);
    await expect(vic.getByRole('heading', { name: 'Your account' })).toBeVisible();
    await vic.getByLabel('Current password').fill('not my password');
    await vic.getByLabel('New password', { exact: true }).fill('vic second password');
    await vic.getByLabel('New password again').fill('vic second password');
    await vic.getByRole('button', { name: 'Change password' }).click();
    await expect(vic.getByText('The current password is not correct.')).toBeVisible();
    await vic.getByLabel('Current password').fill(first);
    await vic.getByRole('button', { name: 'Change password' }).click();
    await expect(vic.getByText('Password changed. Your other sessions have ended.')).toBeVisible();
    await expect(vic.getByLabel('Current password')).toHaveValue('');

    // The other browser is signed out; this one is not.
    await elsewhere.goto('/admin/security/users');
    await expect(elsewhere).toHaveURL(/\/login\?next=/);
    await vic.reload();
    await expect(vic.getByRole('heading', { name: 'Your account' })).toBeVisible();

    // Sign out everywhere, confirmed, ends this session too.
    await hydrated(vic);
    await vic.getByRole('button', { name: 'Sign out everywhere' }).click();
    const confirm = vic.getByRole('dialog', { name: 'Sign out everywhere?' });
    await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await confirm.getByRole('button', { name: 'Sign out everywhere' }).click();
    await expect(vic).toHaveURL('/login');
    await vic.goto('/admin/security/users');
    await expect(vic).toHaveURL(/\/login\?next=/);

    // An Admin resets the password: a one-time link to hand over.
    await page.reload();
    await hydrated(page);
    const row = page.locator('table.principals').getByRole('row', { name: new RegExp(email.replace('.', '\\.')) });
    await row.getByRole('button', { name: 'Reset password' }).click();
    const reset = page.getByRole('dialog', { name: `Reset the password of ${email}?` });
    await reset.getByRole('button', { name: 'Reset password' }).click();
    const link = await page.getByRole('dialog', { name: 'Password reset link' }).getByLabel('Password reset link').inputValue();
    expect(link).toMatch(/\/invitation\?token=[A-Za-z0-9_-]{43}$/);
    await page.getByRole('button', { name: 'Done' }).click();
    await expect(row).toContainText('Invitation pending');
  } finally {
    await mine.close();
    await other.close();
    await page.request.post('/rpc/principals_remove', { headers: SAME_ORIGIN, form: { id: String(principal.id) } });
  }
});
