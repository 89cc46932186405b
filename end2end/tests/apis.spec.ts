import { test, expect, signIn, hydrated, ADMIN } from './fixtures';
import type { Page, APIRequestContext } from '@playwright/test';

const KEY = /^gatehouse_[A-Za-z0-9_-]{49}$/;

function card(page: Page, label: 'Primary key' | 'Secondary key') {
  return page.locator('.key-card', { has: page.getByLabel(label, { exact: true }) });
}

async function show(page: Page, label: 'Primary key' | 'Secondary key') {
  await card(page, label).getByRole('button', { name: 'Show' }).click();
  const input = page.getByLabel(label, { exact: true });
  await expect(input).toHaveValue(KEY);
  return input.inputValue();
}

async function callApi(request: APIRequestContext, key: string) {
  const res = await request.get('/api/v1/environment', { headers: { 'Ocp-Apim-Subscription-Key': key } });
  return res.status();
}

test('enable, show, copy, call, regenerate, disable and enable again', async ({ page, context, request }) => {
  await context.grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fapis');
  await signIn(page, ADMIN);
  await hydrated(page);

  await expect(page.getByRole('link', { name: 'Explore our APIs' })).toHaveAttribute('href', '/api/v1/openapi.json');
  await page.getByRole('button', { name: 'Enable' }).click();
  await expect(page.getByLabel('Primary key', { exact: true })).toHaveValue(/^gatehouse_•+/);
  await expect(page.getByLabel('Secondary key', { exact: true })).toHaveValue(/^gatehouse_•+/);

  const primary = await show(page, 'Primary key');
  const secondary = await show(page, 'Secondary key');
  expect(primary).not.toEqual(secondary);
  expect(await callApi(request, primary)).toBe(200);
  expect(await callApi(request, secondary)).toBe(200);

  await card(page, 'Secondary key').getByRole('button', { name: 'Copy' }).click();
  await expect(card(page, 'Secondary key').getByRole('status')).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secondary);

  await page.getByRole('button', { name: 'Regenerate primary' }).click();
  const dialog = page.getByRole('dialog', { name: 'Regenerate the primary key?' });
  await expect(dialog).toContainText('Callers using the primary key will fail');
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await dialog.getByLabel('Now').check();
  await dialog.getByRole('button', { name: 'Regenerate' }).click();
  await expect(dialog).toHaveCount(0);
  await expect(page.getByLabel('Primary key', { exact: true })).toHaveValue(/^gatehouse_•+/);
  const newPrimary = await show(page, 'Primary key');
  expect(newPrimary).not.toEqual(primary);
  expect(await callApi(request, primary)).toBe(401);
  expect(await callApi(request, newPrimary)).toBe(200);
  expect(await callApi(request, secondary)).toBe(200);

  await page.getByRole('button', { name: 'Disable' }).click();
  const confirm = page.getByRole('dialog', { name: 'Disable the API?' });
  await confirm.getByRole('button', { name: 'Disable' }).click();
  await expect(page.getByText('API disabled')).toBeVisible();
  expect(await callApi(request, secondary)).toBe(403);

  await page.getByRole('button', { name: 'Enable' }).click();
  await expect(page.getByText('API enabled')).toBeVisible();
  expect(await callApi(request, secondary)).toBe(200);
  expect(await callApi(request, newPrimary)).toBe(200);
});

test('Escape closes a confirmation without changing anything', async ({ page }) => {
  await page.goto('/login?next=%2Fadmin%2Fsecurity%2Fapis');
  await signIn(page, ADMIN);
  await hydrated(page);
  const enable = page.getByRole('button', { name: 'Enable' });
  if (await enable.isVisible()) await enable.click();
  await page.getByRole('button', { name: 'Regenerate secondary' }).click();
  await expect(page.getByRole('dialog')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('dialog')).toHaveCount(0);
});
