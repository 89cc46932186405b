import { test, expect, signIn, ADMIN, VIEWER, SAME_ORIGIN } from './fixtures';
import { CLIENT, atProvider, useProvider } from './oidc';

// Runs in both projects (its name matches the no-JS project's pattern): the sign-in is forms and
// redirects only.
const issuer = useProvider();

test('single sign-on signs a user in and refuses an unknown one, with or without JavaScript', async ({ page }) => {
  // Set up through the card's server function, as the card's Save does.
  await page.goto('/login');
  await signIn(page, ADMIN);
  const saved = await page.request.post('/rpc/sso_save', {
    headers: SAME_ORIGIN,
    form: { issuer: issuer(), client_id: CLIENT.id, client_secret: CLIENT.secret, vault_secret: '', name: 'Test IdP' },
  });
  expect(saved.status()).toBe(200);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL('/login');

  await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
  await atProvider(page, issuer(), 'stranger@nowhere.test');
  await expect(page.getByRole('alert')).toContainText('Your account has not been added to Gatehouse. Ask an administrator.');
  // The refusal wears the site's stylesheet, like the sign-in page it leads back to.
  await expect(page.getByRole('alert')).toHaveCSS('max-width', '384px');
  await page.getByRole('link', { name: 'Back to sign-in' }).click();
  // The provider remembers whoever signed in there last: a new person starts afresh.
  await page.context().clearCookies();

  await page.getByRole('button', { name: 'Sign in with Test IdP' }).click();
  await atProvider(page, issuer(), VIEWER.email);
  await expect(page).toHaveURL('/admin/security/users');
  await expect(page.getByText('Vera Viewer')).toBeVisible();
});
