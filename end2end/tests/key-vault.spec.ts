import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test, expect, signIn, hydrated, ADMIN } from './fixtures';
import { OpenBao } from './openbao';

/** A webhook endpoint on a free loopback port that keeps what it receives and answers 204. */
async function webhookReceiver() {
  const received: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('an Admin links OpenBao after a passing check, adds a webhook that takes its secret from it, sees the vault fail, and unlinks it', async ({ page }) => {
  const bao = await OpenBao.start();
  const hook = await webhookReceiver();
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

    // A webhook whose secret is in the vault, picked from the vault's list; Verify signs a
    // test event with it.
    await page.getByRole('button', { name: 'Add connection' }).click();
    const add = page.getByRole('dialog', { name: 'Add connection' });
    await add.getByLabel('Name').fill('orders-hook');
    await add.getByLabel('URL').fill(hook.url);
    await add.getByLabel('Use Key Vault').check();
    await expect(add.getByText(/^1 secrets? in the vault/)).toBeVisible();
    await expect(add.locator('#vault-secret-names option')).toHaveAttribute('value', 'crm/webhook');
    await add.getByLabel('Secret name').fill('crm/webhook');
    await add.getByRole('button', { name: 'Save' }).click();
    await expect(add).toHaveCount(0);
    const row = page.locator('table.connections-table').getByRole('row', { name: /orders-hook/ });
    await expect(row).toContainText('Key Vault: crm/webhook');
    await expect(row).toContainText('Admins');
    await row.getByRole('button', { name: 'Verify' }).click();
    await expect(page.locator('.verify-ok')).toContainText('accepted the signed test event');
    expect(hook.received).toHaveLength(1);
    const { headers, body } = hook.received[0];
    const expected = 'sha256=' + createHmac('sha256', 'hook-secret-1').update(body).digest('hex');
    expect(headers['x-gatehouse-signature']).toBe(expected);

    // The vault stops: the next check marks it unreachable, and every tab shows the banner.
    await bao.stop();
    await tile.getByRole('button', { name: 'Check now' }).click();
    await expect(tile.locator('.badge')).toHaveText(/Unreachable since/);
    await expect(tile.locator('.vault-error')).toContainText('Could not connect');
    const banner = page.locator('.vault-banner');
    await expect(banner).toContainText('Key Vault unreachable since');
    await expect(banner).toContainText('1 connection cannot get its credentials');
    await row.getByRole('button', { name: 'Verify' }).click();
    await expect(page.locator('.verify-failed')).toContainText(/Key Vault: could not connect/);
    await page.getByRole('tab', { name: 'Users' }).click();
    await expect(page).toHaveURL('/admin/security/users');
    await expect(banner).toBeVisible();
    await page.reload();
    await expect(banner).toContainText('1 connection cannot get its credentials');

    // Unlink is refused while the connection uses the vault, and says which one.
    await banner.getByRole('link', { name: 'Open Key Vault' }).click();
    await expect(page).toHaveURL('/admin/security/key-vault');
    await hydrated(page);
    const linked = page.locator('.vault-tile');
    await linked.getByRole('button', { name: 'Unlink' }).click();
    await expect(linked.getByRole('alert')).toContainText('orders-hook');
    await expect(page.getByRole('dialog', { name: 'Unlink the Key Vault?' })).toHaveCount(0);

    // Remove the connection (confirmed with Delete), then Unlink; the banner goes with the link.
    await page.locator('table.connections-table').getByRole('row', { name: /orders-hook/ }).getByRole('button', { name: 'Remove' }).click();
    const remove = page.getByRole('dialog', { name: 'Remove orders-hook?' });
    await expect(remove.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await remove.getByRole('button', { name: 'Delete' }).click();
    await expect(page.getByText('No connections yet.')).toBeVisible();
    await page.locator('.vault-tile').getByRole('button', { name: 'Unlink' }).click();
    const confirm = page.getByRole('dialog', { name: 'Unlink the Key Vault?' });
    await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
    await confirm.getByRole('button', { name: 'Unlink' }).click();
    await expect(page.getByRole('heading', { name: 'No vault linked' })).toBeVisible();
    await expect(banner).toHaveCount(0);
  } finally {
    await bao.stop();
    await hook.close();
  }
});

/** A real SMTP server (aiosmtpd, installed by `scripts/setup.sh test`) that accepts one sign-in. */
async function smtpServer(user: string, password: string) {
  const { spawn } = await import('node:child_process');
  const { createServer: netServer, connect } = await import('node:net');
  const port = await new Promise<number>((resolve) => {
    const probe = netServer().listen(0, '127.0.0.1', () => {
      const p = (probe.address() as AddressInfo).port;
      probe.close(() => resolve(p));
    });
  });
  const script = `
import sys, time
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
def auth(server, session, envelope, mechanism, data):
    return AuthResult(success=isinstance(data, LoginPassword) and data.login == sys.argv[2].encode() and data.password == sys.argv[3].encode(), handled=False)
class H:
    async def handle_DATA(self, server, session, envelope): return "250 OK"
Controller(H(), hostname="127.0.0.1", port=int(sys.argv[1]), authenticator=auth, auth_require_tls=False).start()
while True: time.sleep(3600)
`;
  const child = spawn('python3', ['-c', script, String(port), user, password], { stdio: 'ignore' });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (up) break;
    if (Date.now() > deadline) throw new Error('aiosmtpd did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { port, stop: () => child.kill('SIGKILL') };
}

test('an Admin adds an SMTP connection with a stored password, and Verify signs in to the mail server', async ({ page }) => {
  const smtp = await smtpServer('mailer', 'e2e smtp password');
  try {
    await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fkey-vault');
    await signIn(page, ADMIN);
    await hydrated(page);
    await page.getByRole('button', { name: 'Add connection' }).click();
    const add = page.getByRole('dialog', { name: 'Add connection' });
    await add.getByLabel('Name').fill('e2e-relay');
    await add.getByLabel('Type').selectOption('smtp');
    await add.getByLabel('Host').fill('127.0.0.1');
    await add.getByLabel('TLS').selectOption('none');
    await add.getByLabel('Port').fill(String(smtp.port));
    await add.getByLabel('Username').fill('mailer');
    await add.getByLabel('Password').fill('not the password');
    await add.getByRole('button', { name: 'Save' }).click();
    await expect(add).toHaveCount(0);
    const row = page.locator('table.connections-table').getByRole('row', { name: /e2e-relay/ });
    await expect(row).toContainText('SMTP');
    await expect(row).toContainText('Stored');
    await row.getByRole('button', { name: 'Verify' }).click();
    await expect(page.locator('.verify-failed')).toContainText('refused the username or password');

    // Edit: the password field is empty ("stored"); a new one replaces it.
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit e2e-relay' });
    await expect(edit.getByLabel('Type')).toBeDisabled();
    await expect(edit.getByLabel('Password')).toHaveValue('');
    await edit.getByLabel('Password').fill('e2e smtp password');
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect(edit).toHaveCount(0);
    await page.locator('table.connections-table').getByRole('row', { name: /e2e-relay/ }).getByRole('button', { name: 'Verify' }).click();
    await expect(page.locator('.verify-ok')).toContainText('accepted the sign-in');
    expect(await page.content()).not.toContain('e2e smtp password');

    await page.locator('table.connections-table').getByRole('row', { name: /e2e-relay/ }).getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('dialog', { name: 'Remove e2e-relay?' }).getByRole('button', { name: 'Delete' }).click();
    await expect(page.getByText('No connections yet.')).toBeVisible();
  } finally {
    smtp.stop();
  }
});
