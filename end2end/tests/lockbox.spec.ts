import { test, expect, signIn, hydrated, ADMIN, SAME_ORIGIN } from './fixtures';
import type { APIRequestContext, Browser, Page } from '@playwright/test';

/** A support application (Users tab) and the API switched on, through the tab's own calls. */
async function supportApplication(page: Page): Promise<{ secret: string; clientId: string }> {
  expect((await page.request.post('/rpc/api_enable', { headers: SAME_ORIGIN })).status()).toBe(200);
  const res = await page.request.post('/rpc/principals_add', {
    headers: SAME_ORIGIN,
    form: { kind: 'application', principal: `Support tooling ${Date.now()}`, role: 'viewer' },
  });
  expect(res.status()).toBe(200);
  const added = await res.json();
  // Only applications marked Support application may file requests (the Users tab's Edit pane;
  // its own browser test is in users.spec.ts).
  const marked = await page.request.post('/rpc/principals_change_role', {
    headers: SAME_ORIGIN,
    form: { id: String(added.principal.id), role: 'viewer', confirm_self: 'false', support_application: 'true' },
  });
  expect(marked.status()).toBe(200);
  return { secret: added.client_secret, clientId: added.principal.emailOrId };
}

async function file(request: APIRequestContext, secret: string, ticket: string, accessPeriodSeconds?: number) {
  const res = await request.post('/api/v1/lockbox/requests', {
    headers: { Authorization: `Bearer ${secret}` },
    data: {
      ticket,
      justification: 'The customer reports users missing after an import.',
      engineer: { name: 'Sam Support', email: 'sam@support.example' },
      access: 'read',
      ...(accessPeriodSeconds ? { accessPeriodSeconds } : {}),
    },
  });
  expect(res.status()).toBe(201);
  return (await res.json()).id as number;
}

async function supportCall(request: APIRequestContext, secret: string, id: number) {
  const res = await request.get('/api/v1/support/principals', {
    headers: { Authorization: `Bearer ${secret}`, 'Lockbox-Request': String(id) },
  });
  return res.status();
}

const SID = { email: 'sid@e2e.test', password: 'sid second admin password' };

/**
 * A second Admin, not a Lockbox approver, signed in in a browser context of their own: invited
 * by the first Admin and accepted through the invitation's server function. Removed by the
 * caller afterwards, so that the Users tests still find one Admin.
 */
async function secondAdmin(page: Page, browser: Browser) {
  const res = await page.request.post('/rpc/principals_add', {
    headers: SAME_ORIGIN,
    form: { kind: 'user', principal: SID.email, role: 'admin' },
  });
  expect(res.status()).toBe(200);
  const added = await res.json();
  const token = new URL(added.invitation_path, 'http://x').searchParams.get('token')!;
  const context = await browser.newContext();
  const sid = await context.newPage();
  const accepted = await sid.request.post('/rpc/invitation_accept', {
    headers: SAME_ORIGIN,
    form: { token, name: 'Sid Second', password: SID.password, confirm: SID.password },
  });
  expect(accepted.status()).toBe(200);
  return { sid, context, id: added.principal.id as number };
}

function requestRow(page: Page, ticket: string) {
  return page.locator('table.lockbox-requests').getByRole('row', { name: new RegExp(ticket) });
}

test('a request waits, an Admin makes an approver, who approves with their password; access works, then ends', async ({ page, browser, request }) => {
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Flockbox');
  await signIn(page, ADMIN);
  await expect(page).toHaveURL('/admin/security/lockbox');
  await hydrated(page);
  const { secret } = await supportApplication(page);

  // Turn the policy on (it is off on a new environment).
  const lockbox = page.getByRole('switch', { name: 'Customer Lockbox' });
  if ((await lockbox.getAttribute('aria-checked')) !== 'true') await lockbox.click();
  await expect(lockbox).toHaveAttribute('aria-checked', 'true');

  const ticket = `CASE-${Date.now()}`;
  const id = await file(request, secret, ticket, 4);
  expect(await supportCall(request, secret, id)).toBe(403);

  // A second Admin, not an approver: sees the request and the count, cannot decide.
  const { sid, context: sids, id: sidId } = await secondAdmin(page, browser);
  try {
    await sid.goto('/admin/security/lockbox');
    await hydrated(sid);
    await expect(requestRow(sid, ticket)).toContainText('Action needed');
    await expect(sid.getByRole('tab', { name: 'Customer Lockbox', exact: true }).locator('.tab-count')).toHaveText(/^[1-9]/);
    await requestRow(sid, ticket).getByRole('button', { name: ticket }).click();
    let pane = sid.getByRole('dialog', { name: 'Support request' });
    await expect(pane.getByRole('button', { name: 'Approve' })).toBeDisabled();
    await expect(pane.getByRole('button', { name: 'Deny' })).toBeDisabled();
    await expect(pane.getByText('Only Lockbox approvers can approve or deny.')).toBeVisible();
    await pane.getByRole('button', { name: 'Close' }).click();

    // The first Admin makes them a Lockbox approver in the Users tab.
    await page.getByRole('tab', { name: 'Users' }).click();
    const row = page.locator('table.principals').getByRole('row', { name: /sid@e2e\.test/ });
    await row.getByRole('button', { name: 'Edit' }).click();
    const edit = page.getByRole('dialog', { name: 'Edit Sid Second' });
    await edit.getByLabel('Lockbox approver').check();
    await edit.getByRole('button', { name: 'Save' }).click();
    await expect(edit).toHaveCount(0);

    await sid.reload();
    await hydrated(sid);
    await expect(sid.locator('.approvers')).toContainText('sid@e2e.test');
    await requestRow(sid, ticket).getByRole('button', { name: ticket }).click();
    pane = sid.getByRole('dialog', { name: 'Support request' });
    await pane.getByLabel('Your password').fill('not my password');
    await pane.getByRole('button', { name: 'Approve' }).click();
    await expect(pane.getByText('The password is not correct.')).toBeVisible();
    await pane.getByLabel('Your password').fill(SID.password);
    await pane.getByRole('button', { name: 'Approve' }).click();
    await expect(pane.locator('dd .badge')).toHaveText('Approved');
    await expect(pane.locator('.history')).toContainText('Approved');
    expect(await supportCall(request, secret, id)).toBe(200);

    // The access period (4 seconds) ends by itself.
    await expect.poll(() => supportCall(request, secret, id), { timeout: 10_000, intervals: [500] }).toBe(403);
    await pane.getByRole('button', { name: 'Close' }).click();
    await sid.getByRole('link', { name: 'Recent' }).click();
    await expect(sid).toHaveURL('/admin/security/lockbox?filter=recent');
    await expect(requestRow(sid, ticket)).toContainText('Expired');
  } finally {
    await sids.close();
    await page.request.post('/rpc/principals_remove', { headers: SAME_ORIGIN, form: { id: String(sidId) } });
  }
});

test('an approver denies a request, and the support call stays refused', async ({ page, request }) => {
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Flockbox');
  await signIn(page, ADMIN);
  await hydrated(page);
  // The bootstrap Admin is a Lockbox approver.
  const { secret } = await supportApplication(page);
  const lockbox = page.getByRole('switch', { name: 'Customer Lockbox' });
  if ((await lockbox.getAttribute('aria-checked')) !== 'true') await lockbox.click();
  await expect(lockbox).toHaveAttribute('aria-checked', 'true');
  const ticket = `DENY-${Date.now()}`;
  const id = await file(request, secret, ticket);
  await page.reload();
  await hydrated(page);
  await requestRow(page, ticket).getByRole('button', { name: ticket }).click();
  const pane = page.getByRole('dialog', { name: 'Support request' });
  await pane.getByRole('button', { name: 'Deny' }).click();
  const confirm = page.getByRole('dialog', { name: 'Deny this request?' });
  await expect(confirm.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await confirm.getByRole('button', { name: 'Deny' }).click();
  await expect(pane.locator('dd .badge')).toHaveText('Denied');
  expect(await supportCall(request, secret, id)).toBe(403);

  // Turning the policy off asks first.
  await pane.getByRole('button', { name: 'Close' }).click();
  await lockbox.click();
  const off = page.getByRole('dialog', { name: 'Turn Customer Lockbox off?' });
  await off.getByRole('button', { name: 'Turn off' }).click();
  await expect(lockbox).toHaveAttribute('aria-checked', 'false');
});

test('durations are typed in hours, saved, shown again as saved, and refused out of range', async ({ page }) => {
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Flockbox');
  await signIn(page, ADMIN);
  await expect(page).toHaveURL('/admin/security/lockbox');
  await hydrated(page);
  const expiry = page.getByLabel('Request expiration (hours)');
  const period = page.getByLabel('Access period (hours)');
  const save = page.getByRole('button', { name: 'Save settings' });
  const before = { expiry: await expiry.inputValue(), period: await period.inputValue() };

  await expiry.fill('1.5');
  await period.fill('0.25');
  await save.click();
  await expect(page.locator('.lockbox-policy').getByRole('status')).toHaveText('Saved.');
  await page.reload();
  await hydrated(page);
  await expect(expiry).toHaveValue('1.50');
  await expect(period).toHaveValue('0.25');

  // 10^6 hours is past a year: the server says so beside the field, and nothing changes.
  await expiry.fill('1e6');
  await save.click();
  await expect(page.locator('#request_expiry-error')).toHaveText('Choose a duration from 1 minute to 365 days.');
  await page.reload();
  await hydrated(page);
  await expect(expiry).toHaveValue('1.50');

  await expiry.fill(before.expiry);
  await period.fill(before.period);
  await save.click();
  await expect(page.locator('.lockbox-policy').getByRole('status')).toHaveText('Saved.');
});

test('under the two-person rule, turning the policy off waits for a second approver, who confirms it', async ({ page, browser }) => {
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Flockbox');
  await signIn(page, ADMIN);
  await hydrated(page);
  const { sid, context: sids, id: sidId } = await secondAdmin(page, browser);
  try {
    // Sid chose their password when accepting the invitation: they can be made an approver.
    const made = await page.request.post('/rpc/principals_change_role', {
      headers: SAME_ORIGIN,
      form: { id: String(sidId), role: 'admin', confirm_self: 'false', lockbox_approver: 'true' },
    });
    expect(made.status()).toBe(200);
    expect((await made.json()).lockboxApprover).toBe(true);

    const card = page.locator('.lockbox-policy');
    const lockbox = page.getByRole('switch', { name: 'Customer Lockbox' });
    if ((await lockbox.getAttribute('aria-checked')) !== 'true') await lockbox.click();
    await expect(lockbox).toHaveAttribute('aria-checked', 'true');
    await page.getByLabel('Approvals required').selectOption('2');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(card.getByRole('status').first()).toHaveText('Saved.');

    // One Admin alone cannot turn it off.
    await lockbox.click();
    await page.getByRole('dialog', { name: 'Turn Customer Lockbox off?' }).getByRole('button', { name: 'Turn off' }).click();
    await expect(card.getByText('Waiting for a second Lockbox approver: see Pending changes.')).toBeVisible();
    await expect(lockbox).toHaveAttribute('aria-checked', 'true');
    const change = card.locator('.pending-change', { hasText: 'Turn Customer Lockbox off' });
    await expect(change).toContainText('You proposed this change');
    await expect(change.getByRole('button', { name: 'Confirm' })).toHaveCount(0);

    // The second approver confirms it with their password.
    await sid.goto('/admin/security/lockbox');
    await hydrated(sid);
    const theirs = sid.locator('.pending-change', { hasText: 'Turn Customer Lockbox off' });
    await theirs.getByLabel('Your password').fill('not my password');
    await theirs.getByRole('button', { name: 'Confirm' }).click();
    await expect(theirs.getByText('The password is not correct.')).toBeVisible();
    await theirs.getByLabel('Your password').fill(SID.password);
    await theirs.getByRole('button', { name: 'Confirm' }).click();
    await expect(sid.locator('.pending-change')).toHaveCount(0);
    await expect(sid.getByRole('switch', { name: 'Customer Lockbox' })).toHaveAttribute('aria-checked', 'false');

    // Back to one approval: that waits as well, and Sid confirms it.
    await page.reload();
    await hydrated(page);
    await page.getByLabel('Approvals required').selectOption('1');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect(card.getByText('Waiting for a second Lockbox approver: see Pending changes.')).toBeVisible();
    await sid.reload();
    await hydrated(sid);
    const lower = sid.locator('.pending-change', { hasText: 'Lower Approvals required to 1' });
    await lower.getByLabel('Your password').fill(SID.password);
    await lower.getByRole('button', { name: 'Confirm' }).click();
    await expect(sid.locator('.pending-change')).toHaveCount(0);
    await expect(sid.getByLabel('Approvals required')).toHaveValue('1');
  } finally {
    await sids.close();
    await page.request.post('/rpc/principals_remove', { headers: SAME_ORIGIN, form: { id: String(sidId) } });
  }
});
