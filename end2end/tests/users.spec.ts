import { test, expect, signIn, hydrated, ADMIN } from './fixtures';
import type { Page } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

async function openUsersTab(page: Page) {
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fusers');
  await signIn(page, ADMIN);
  await expect(page).toHaveURL('/admin/security/users');
  await hydrated(page);
}

function row(page: Page, text: string) {
  return page.locator('table.principals').getByRole('row', { name: new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) });
}

async function add(page: Page, type: 'User' | 'Group' | 'Application', principal: string, role: string) {
  await page.getByRole('button', { name: 'Add users' }).click();
  const pane = page.getByRole('dialog', { name: 'Add users' });
  await pane.getByLabel(type, { exact: true }).check();
  await pane.getByLabel(type === 'User' ? 'Email' : 'Name').fill(principal);
  await pane.getByLabel('Role').selectOption({ label: role });
  await pane.getByRole('button', { name: 'Save' }).click();
  await expect(pane).toHaveCount(0);
}

test('invite a Viewer, who accepts, is refused, promoted, then removed and signed out', async ({ page, browser }) => {
  await openUsersTab(page);
  const email = `ivy-${Date.now()}@e2e.test`;

  await page.getByRole('button', { name: 'Add users' }).click();
  const pane = page.getByRole('dialog', { name: 'Add users' });
  await expect(pane.getByLabel('Email')).toBeFocused();
  await pane.getByLabel('Email').fill('not an email');
  await pane.getByRole('button', { name: 'Save' }).click();
  await expect(pane.getByRole('alert')).toHaveText('Enter an email address like name@example.com.');
  await pane.getByLabel('Email').fill(email);
  await pane.getByLabel('Role').selectOption({ label: 'Viewer' });
  await pane.getByRole('button', { name: 'Save' }).click();

  const reveal = page.getByRole('dialog', { name: `Invitation for ${email}` });
  const link = await reveal.getByLabel('Invitation link').inputValue();
  expect(link).toMatch(/^http:\/\/[^/]+\/invitation\?token=[A-Za-z0-9_-]{43}$/);
  await reveal.getByRole('button', { name: 'Done' }).click();
  await expect(row(page, email)).toContainText('Invitation pending');

  // The invitee, in a browser of their own.
  const theirs = await browser.newContext();
  const invitee = await theirs.newPage();
  await invitee.goto(link);
  await hydrated(invitee);
  await expect(invitee.getByText(`You were invited as ${email}`)).toBeVisible();
  await invitee.getByLabel('Name').fill('Ivy Invitee');
  await invitee.getByLabel('Password', { exact: true }).fill('ivy password 123');
  await invitee.getByLabel('Confirm password').fill('ivy password 12');
  await invitee.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(invitee.getByText('The passwords do not match.')).toBeVisible();
  await invitee.getByLabel('Confirm password').fill('ivy password 123');
  await invitee.getByRole('button', { name: 'Set password and sign in' }).click();
  await expect(invitee).toHaveURL('/admin/security/users');
  await expect(invitee.getByRole('heading', { name: 'Access denied' })).toBeVisible();

  // Promoted: the same session opens the tab on its next request.
  await page.reload();
  await hydrated(page);
  await expect(row(page, email)).toContainText('Ivy Invitee');
  await row(page, email).getByRole('button', { name: 'Edit' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit Ivy Invitee' });
  await edit.getByLabel('Role').selectOption({ label: 'Admin' });
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toHaveCount(0);
  await expect(row(page, email)).toContainText('Admin');
  await invitee.reload();
  await expect(invitee.getByRole('tablist', { name: 'Security settings' })).toBeVisible();

  // Removed: the confirmation starts on Cancel; Delete signs them out.
  await row(page, email).getByRole('button', { name: 'Remove' }).click();
  const remove = page.getByRole('dialog', { name: 'Remove Ivy Invitee?' });
  await expect(remove.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await remove.getByRole('button', { name: 'Delete' }).click();
  await expect(remove).toHaveCount(0);
  await expect(row(page, email)).toHaveCount(0);
  await invitee.reload();
  await expect(invitee).toHaveURL(/\/login\?next=%2Fadmin%2Fsecurity%2Fusers$/);

  // The audit log shows what happened, to whom.
  const audit = page.getByRole('table').filter({ has: page.getByRole('columnheader', { name: 'When (UTC)' }) });
  await expect(audit.getByRole('row', { name: /Removed/ }).first()).toContainText(email);
  await theirs.close();
});

test('the last Admin can neither demote nor remove themselves', async ({ page }) => {
  await openUsersTab(page);
  const me = row(page, ADMIN.email);
  await me.getByRole('button', { name: 'Edit' }).click();
  const edit = page.getByRole('dialog', { name: 'Edit Administrator' });
  await edit.getByLabel('Role').selectOption({ label: 'Viewer' });
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit.getByRole('alert')).toContainText('You are about to remove your own Admin role');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit.getByText('At least one Admin must remain.')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(edit).toHaveCount(0);
  await expect(me.getByRole('button', { name: 'Edit' })).toBeFocused();

  await me.getByRole('button', { name: 'Remove' }).click();
  const remove = page.getByRole('dialog', { name: 'Remove Administrator?' });
  await remove.getByRole('button', { name: 'Delete' }).click();
  await expect(remove.getByRole('alert')).toContainText('At least one Admin must remain.');
  await remove.getByRole('button', { name: 'Cancel' }).click();
  await expect(me).toContainText('Admin');
});

test('search and sort live in the URL; groups take members; applications get a secret', async ({ page }) => {
  await openUsersTab(page);
  const tag = `E2E${Date.now()}`;
  await add(page, 'Group', `${tag} Zebra team`, 'Contributor');
  await expect(page.getByRole('dialog', { name: `${tag} Zebra team was added` })).toBeVisible();
  await page.getByRole('button', { name: 'Done' }).click();
  await add(page, 'Application', `${tag} Alpha sync`, 'Viewer');
  const secret = page.getByRole('dialog', { name: `${tag} Alpha sync was added` });
  await expect(secret.getByLabel('Client secret')).toHaveValue(/^gatehouse_app_[A-Za-z0-9_-]{43}$/);
  await secret.getByRole('button', { name: 'Done' }).click();

  await page.getByRole('searchbox', { name: 'Search' }).fill(tag.toLowerCase());
  await page.getByRole('searchbox', { name: 'Search' }).press('Enter');
  await expect(page).toHaveURL(`/admin/security/users?q=${tag.toLowerCase()}`);
  const body = page.getByRole('tabpanel').locator('table.principals tbody tr');
  await expect(body).toHaveCount(2);
  await expect(body.first()).toContainText('Alpha sync');

  await page.getByRole('link', { name: 'Name' }).click();
  await expect(page).toHaveURL(new RegExp(`q=${tag.toLowerCase()}&sort=-name$`));
  await expect(page.getByRole('columnheader', { name: 'Name' })).toHaveAttribute('aria-sort', 'descending');
  await expect(body.first()).toContainText('Zebra team');
  await page.reload();
  await expect(body.first()).toContainText('Zebra team');
  await page.goBack();
  await expect(body.first()).toContainText('Alpha sync');

  await page.getByRole('link', { name: 'Type' }).click();
  await expect(page.getByRole('columnheader', { name: 'Type' })).toHaveAttribute('aria-sort', 'ascending');
  await expect(body.first()).toContainText('Application');

  await hydrated(page);
  await row(page, 'Zebra team').getByRole('button', { name: 'Members' }).click();
  const members = page.getByRole('dialog', { name: `Members of ${tag} Zebra team` });
  await expect(members).toContainText('No members yet.');
  await members.getByLabel('Member email').fill('nobody@e2e.test');
  await members.getByRole('button', { name: 'Add member' }).click();
  await expect(members.getByText('No user has this email.')).toBeVisible();
  await members.getByLabel('Member email').fill('viewer@e2e.test');
  await members.getByRole('button', { name: 'Add member' }).click();
  await expect(members.getByRole('listitem')).toContainText('viewer@e2e.test');
  await members.getByRole('button', { name: 'Close' }).click();
  await expect(row(page, 'Zebra team')).toContainText('1 member');

  // An application becomes a Support application in its Edit pane, and the list says so.
  await row(page, 'Alpha sync').getByRole('button', { name: 'Edit' }).click();
  const edit = page.getByRole('dialog', { name: `Edit ${tag} Alpha sync` });
  await expect(edit.getByLabel('Lockbox approver')).toHaveCount(0);
  await edit.getByLabel('Support application').check();
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit).toHaveCount(0);
  await expect(row(page, 'Alpha sync')).toContainText('Support application');
});

test('what is typed in Search before the page has hydrated is kept', async ({ page }) => {
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fapis');
  await signIn(page, ADMIN);
  await expect(page).toHaveURL('/admin/security/apis');
  // A slow network: the WASM arrives a second and a half late, after the typing.
  await page.route(/\.wasm$/, async (route) => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await route.continue();
  });
  await page.goto('/admin/security/users');
  const box = page.getByRole('searchbox', { name: 'Search' });
  await box.fill('viewer@');
  await hydrated(page);
  await expect(box).toHaveValue('viewer@');
  await page.unroute(/\.wasm$/);
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page).toHaveURL('/admin/security/users?q=viewer%40');
});

test('an Admin turns provisioning on: the token is shown once, works, is replaced and disabled', async ({ page }) => {
  await openUsersTab(page);
  const card = page.getByRole('region', { name: 'Provisioning' });
  await expect(card.getByLabel('Tenant URL')).toHaveValue(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
  await expect(card.getByRole('status')).toContainText(/^Off|^On since/);
  // The managing part's code arrives on demand; focus moves into it.
  await card.getByRole('button', { name: 'Manage provisioning' }).click();
  await expect(card.locator('#provisioning-manage')).toBeFocused();
  // A run before may have left a token: start from a fresh one either way.
  const make = card.getByRole('button', { name: /^(Create|Regenerate) token$/ });
  const first = await make.textContent();
  await make.click();
  if (first === 'Regenerate token') {
    await page.getByRole('dialog', { name: 'Regenerate the provisioning token?' }).getByRole('button', { name: 'Regenerate' }).click();
  }
  const token = card.getByLabel('Secret token');
  await expect(token).toHaveValue(/^gatehouse_scim_/);
  const secret = await token.inputValue();
  await expect(card.getByRole('status').first()).toContainText('On since');

  // An identity provider provisions a user with it; they appear in the list.
  const scim = (t: string) => ({ Authorization: `Bearer ${t}`, 'Content-Type': 'application/scim+json' });
  const email = `scim-${Date.now()}@e2e.test`;
  const created = await page.request.post('/scim/v2/Users', { headers: scim(secret), data: { userName: email, displayName: 'Prov Isioned' } });
  expect(created.status()).toBe(201);
  await page.reload();
  await expect(row(page, email)).toContainText('Prov Isioned');
  await hydrated(page);
  await card.getByRole('button', { name: 'Manage provisioning' }).click();

  // Regenerated: the old token is refused at once.
  await card.getByRole('button', { name: 'Regenerate token' }).click();
  const confirm = page.getByRole('dialog', { name: 'Regenerate the provisioning token?' });
  await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await confirm.getByRole('button', { name: 'Regenerate' }).click();
  await expect(token).not.toHaveValue(secret);
  expect((await page.request.get('/scim/v2/Users', { headers: scim(secret) })).status()).toBe(401);
  const second = await token.inputValue();
  expect((await page.request.get('/scim/v2/Users', { headers: scim(second) })).status()).toBe(200);

  // Disabled: refused too, and the card says so.
  await card.getByRole('button', { name: 'Disable' }).click();
  await page.getByRole('dialog', { name: 'Disable provisioning?' }).getByRole('button', { name: 'Disable' }).click();
  await expect(card.getByRole('status').first()).toContainText('Off: the token is disabled');
  expect((await page.request.get('/scim/v2/Users', { headers: scim(second) })).status()).toBe(401);
  const id = (await created.json()).id;
  // Tidy: the provisioned user goes (by the same route an identity provider would use).
  await card.getByRole('button', { name: 'Regenerate token' }).click();
  await page.getByRole('dialog', { name: 'Regenerate the provisioning token?' }).getByRole('button', { name: 'Regenerate' }).click();
  await expect(token).not.toHaveValue(second);
  const third = await token.inputValue();
  expect((await page.request.delete(`/scim/v2/Users/${id}`, { headers: scim(third) })).status()).toBe(204);
});

test('Verify checks the audit log and says it is intact', async ({ page }) => {
  await openUsersTab(page);
  const audit = page.locator('section.audit');
  await audit.getByRole('button', { name: 'Verify' }).click();
  await expect(audit.locator('.audit-verdict')).toContainText(/The audit log is unaltered: \d+ entries verified\./);
  await expect(audit.locator('.audit-verdict .badge')).toHaveText('Intact');
});

test('an Admin streams the audit log to a Webhook connection and stops, after a confirmation', async ({ page }) => {
  const received: { signature: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ signature: String(req.headers['x-gatehouse-signature']), body });
      res.statusCode = 202;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const name = `siem-${Date.now()}`;
  try {
    await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fkey-vault');
    await signIn(page, ADMIN);
    await hydrated(page);
    await page.getByRole('button', { name: 'Add connection' }).click();
    const add = page.getByRole('dialog', { name: 'Add connection' });
    await add.getByLabel('Name').fill(name);
    await add.getByLabel('URL').fill(`http://127.0.0.1:${port}/siem`);
    await add.getByLabel('Signing secret').fill('e2e stream secret');
    await add.getByRole('button', { name: 'Save' }).click();
    await expect(add).toHaveCount(0);

    await page.getByRole('tab', { name: 'Users', exact: true }).click();
    const card = page.locator('.audit-streaming');
    await card.getByRole('button', { name: 'Manage streaming' }).click();
    await card.getByLabel('Stream to a webhook').selectOption({ label: `${name} (http://127.0.0.1:${port}/siem)` });
    await card.getByRole('button', { name: 'Save' }).click();
    // The card lists the destination; the whole log arrives, signed, as CloudEvents.
    await expect(card.locator('dl.facts')).toContainText(name);
    await expect.poll(() => received.length).toBeGreaterThan(0);
    const { signature, body } = received[0];
    expect(signature).toBe('sha256=' + createHmac('sha256', 'e2e stream secret').update(body).digest('hex'));
    const events = JSON.parse(body);
    expect(events[0].specversion).toBe('1.0');

    // Stopping asks first.
    await card.getByLabel('Stream to a webhook').selectOption({ label: 'None' });
    await card.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('dialog', { name: 'Stop streaming to the webhook?' }).getByRole('button', { name: 'Stop' }).click();
    await expect(card.locator('dl.facts')).toHaveCount(0);

    // No longer streaming, the connection can go (it could not while it streamed).
    await page.getByRole('tab', { name: 'Key Vault', exact: true }).click();
    await page.locator('table.connections-table').getByRole('row', { name: new RegExp(name) }).getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('dialog', { name: `Remove ${name}?` }).getByRole('button', { name: 'Delete' }).click();
    await expect(page.locator('table.connections-table').getByRole('row', { name: new RegExp(name) })).toHaveCount(0);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
