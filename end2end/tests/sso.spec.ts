import { test, expect, signIn, hydrated, ADMIN, VIEWER } from './fixtures';
import { CLIENT, atProvider, useProvider } from './oidc';

const issuer = useProvider();

test('an Admin checks and saves the card; a user signs in through the provider', async ({ page, browser }) => {
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fusers');
  await signIn(page, ADMIN);
  await hydrated(page);
  const card = page.getByRole('region', { name: 'Single sign-on' });
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

  const viewer = await browser.newPage();
  await viewer.goto('/login');
  await viewer.getByRole('button', { name: 'Sign in with Test IdP' }).click();
  await atProvider(viewer, issuer(), VIEWER.email);
  // Signed in as the Viewer, who may not open the Security page.
  await expect(viewer).toHaveURL('/admin/security/users');
  await expect(viewer.getByText('Vera Viewer')).toBeVisible();
  await expect(viewer.getByRole('alert')).toContainText('Only administrators can open the Security page.');
  await viewer.close();
});
