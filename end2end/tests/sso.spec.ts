import { test, expect, signIn, hydrated, ADMIN } from './fixtures';
import { CLIENT, atProvider, useProvider } from './oidc';

const issuer = useProvider();

test('an Admin checks and saves the card; a user added on the Users tab signs in through the provider', async ({ page, browser }) => {
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fusers');
  await signIn(page, ADMIN);
  await hydrated(page);
  const card = page.getByRole('region', { name: 'Single sign-on' });
  await expect(card.getByRole('status')).toHaveText('Not set up: people sign in with a password.');
  await card.getByRole('button', { name: 'Manage single sign-on' }).click();
  await expect(card.getByLabel('Redirect URI (register it at the provider)')).toHaveValue(/\/auth\/oidc\/callback$/);
  await card.getByLabel('Issuer').fill(issuer());
  await card.getByLabel('Client ID').fill(CLIENT.id);
  await card.getByLabel('Client secret').fill(CLIENT.secret);
  await card.getByLabel('Provider name').fill('Test IdP');
  await expect(card.getByRole('button', { name: 'Save' })).toBeDisabled();
  await card.getByRole('button', { name: 'Check' }).click();
  const steps = card.getByRole('list', { name: 'Check results' });
  await expect(steps.getByRole('listitem')).toHaveCount(5);
  await expect(steps).not.toContainText('Failed');
  await card.getByRole('button', { name: 'Save' }).click();
  await expect(card.getByRole('button', { name: 'Remove' })).toBeVisible();
  // After a reload the summary names the provider.
  await page.reload();
  await hydrated(page);
  await expect(card.getByRole('status')).toContainText('Set up with Test IdP');

  // A user added on the Users tab (an invitation they never used) signs in through the provider.
  const email = 'sso-user@e2e.test';
  await page.getByRole('button', { name: 'Add users' }).click();
  const pane = page.getByRole('dialog', { name: 'Add users' });
  await pane.getByLabel('User', { exact: true }).check();
  await pane.getByLabel('Email').fill(email);
  await pane.getByLabel('Role').selectOption({ label: 'Contributor' });
  await pane.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('dialog', { name: `Invitation for ${email}` }).getByRole('button', { name: 'Done' }).click();

  const theirs = await browser.newPage();
  await theirs.goto('/login');
  await theirs.getByRole('button', { name: 'Sign in with Test IdP' }).click();
  await atProvider(theirs, issuer(), email);
  // Signed in (an anonymous visitor would be sent to /login) as a Contributor, whom the
  // Security page turns away.
  await expect(theirs).toHaveURL('/admin/security/users');
  await expect(theirs.getByRole('alert')).toContainText('Only administrators can open the Security page.');
  await theirs.close();
});
