import { test, expect, signIn, hydrated, ADMIN } from './fixtures';
import { OpenBao } from './openbao';

test('an Admin links OpenBao after a passing check, sees it fail when the vault stops, and unlinks it', async ({ page }) => {
  const bao = await OpenBao.start();
  try {
    await bao.putSecret('crm/webhook', { value: 'hook-secret-1' });
    await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fkey-vault');
    await signIn(page, ADMIN);
    await expect(page).toHaveURL('/admin/security/key-vault');
    await hydrated(page);
    await expect(page.getByRole('heading', { name: 'No vault linked' })).toBeVisible();
    await page.getByRole('button', { name: 'Set up' }).click();

    const pane = page.getByRole('dialog', { name: 'Set up Key Vault' });
    await expect(pane.getByLabel('Backend')).toBeFocused();
    await pane.getByLabel('Address').fill(bao.address);
    await pane.getByLabel('Token').fill('s.not-the-token');
    const save = pane.getByRole('button', { name: 'Save' });
    await expect(save).toBeDisabled();

    // A wrong token: the step says so, and Save stays closed.
    await pane.getByRole('button', { name: 'Check connection' }).click();
    const steps = pane.getByRole('list', { name: 'Check results' });
    await expect(steps.locator('[data-step="reachable"]')).toHaveClass(/step-pass/);
    await expect(steps.locator('[data-step="authenticated"]')).toHaveClass(/step-fail/);
    await expect(steps.locator('[data-step="authenticated"]')).toContainText('refused the token');
    await expect(save).toBeDisabled();

    // The root token passes, with the write warning.
    await pane.getByLabel('Token').fill(bao.token);
    await pane.getByRole('button', { name: 'Check connection' }).click();
    for (const step of ['reachable', 'authenticated', 'may-list', 'may-read']) {
      await expect(steps.locator(`[data-step="${step}"]`)).toHaveClass(/step-pass/);
    }
    await expect(steps.locator('[data-step="may-read"]')).toContainText('crm/webhook');
    await expect(steps.locator('[data-step="cannot-write"]')).toHaveClass(/step-warn/);
    await expect(steps.locator('[data-step="cannot-write"]')).toContainText('could also create, change or delete');
    await expect(save).toBeEnabled();

    // A change after the check closes Save until the new values pass.
    await pane.getByLabel('Mount').fill('kv');
    await expect(save).toBeDisabled();
    await pane.getByLabel('Mount').fill('secret');
    await expect(save).toBeEnabled();
    await save.click();
    await expect(pane).toHaveCount(0);

    const tile = page.locator('.vault-tile');
    await expect(tile.getByRole('heading', { name: 'HashiCorp Vault / OpenBao' })).toBeVisible();
    await expect(tile).toContainText(bao.address);
    await expect(tile).toContainText('Token stored');
    await expect(tile.locator('.badge')).toHaveText('Healthy');
    expect(await page.content()).not.toContain(bao.token);

    // Edit shows the stored token as stored, never its value.
    await tile.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit Key Vault link' });
    await expect(edit.getByLabel('Token')).toHaveValue('');
    await expect(edit.getByLabel('Token')).toHaveAttribute('placeholder', /Stored/);
    await edit.getByRole('button', { name: 'Cancel' }).click();

    // The vault stops: the next check marks it unreachable, and every tab shows the banner.
    await bao.stop();
    await tile.getByRole('button', { name: 'Check now' }).click();
    await expect(tile.locator('.badge')).toHaveText(/Unreachable since/);
    await expect(tile.locator('.vault-error')).toContainText('Could not connect');
    const banner = page.locator('.vault-banner');
    await expect(banner).toContainText('Key Vault unreachable since');
    await page.getByRole('tab', { name: 'Users' }).click();
    await expect(page).toHaveURL('/admin/security/users');
    await expect(banner).toBeVisible();
    await page.reload();
    await expect(banner).toContainText('no connection uses it yet');

    // Unlink, after its confirmation; the banner goes with the link.
    await banner.getByRole('link', { name: 'Open Key Vault' }).click();
    await expect(page).toHaveURL('/admin/security/key-vault');
    await hydrated(page);
    await page.locator('.vault-tile').getByRole('button', { name: 'Unlink' }).click();
    const confirm = page.getByRole('dialog', { name: 'Unlink the Key Vault?' });
    await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await confirm.getByRole('button', { name: 'Unlink' }).click();
    await expect(page.getByRole('heading', { name: 'No vault linked' })).toBeVisible();
    await expect(banner).toHaveCount(0);
  } finally {
    await bao.stop();
  }
});
