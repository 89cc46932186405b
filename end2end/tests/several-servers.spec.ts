import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { test, expect, signIn, hydrated, ADMIN } from './fixtures';

/**
 * Two servers (the release binary) on one PostgreSQL database, in a throwaway cluster
 * (`scripts/postgres.sh`): an admin signs in on one and works on the other, as behind a load
 * balancer without sticky sessions.
 */
const root = resolve(__dirname, '../..');
const script = join(root, 'scripts/postgres.sh');
const ports = [3121, 3122];
let cluster = '';
const servers: ChildProcess[] = [];

test.beforeAll(async () => {
  cluster = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-pg-'));
  const url = execFileSync('bash', [script, 'start', cluster]).toString().trim();
  execFileSync('psql', ['-q', url, '-c', 'CREATE DATABASE e2e']);
  const env = {
    ...process.env,
    GATEHOUSE_DATABASE_URL: url.replace(/\/postgres$/, '/e2e'),
    GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64'),
    GATEHOUSE_BOOTSTRAP_ADMIN_EMAIL: ADMIN.email,
    GATEHOUSE_BOOTSTRAP_ADMIN_PASSWORD: ADMIN.password,
    LEPTOS_SITE_ROOT: join(root, 'target/site'),
    RUST_LOG: 'warn',
  };
  for (const port of ports) {
    servers.push(
      spawn(join(root, 'target/release/gatehouse'), [], {
        env: { ...env, LEPTOS_SITE_ADDR: `127.0.0.1:${port}` },
        stdio: 'ignore',
      }),
    );
    await expect
      .poll(async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.status, {
        timeout: 30_000,
      })
      .toBe(200);
  }
});

test.afterAll(async () => {
  for (const server of servers) server.kill();
  if (cluster) execFileSync('bash', [script, 'stop', cluster]);
});

test('signed in on one server, an admin works on the other and each sees the other\'s change', async ({ page }) => {
  const [a, b] = ports.map((port) => `http://127.0.0.1:${port}`);
  await page.goto(`${a}/login?next=%2Fadmin%2Fsecurity%2Fusers`);
  await signIn(page, ADMIN);
  await expect(page).toHaveURL(`${a}/admin/security/users`);

  // The same browser session on B (cookies belong to the host, not the port).
  await page.goto(`${b}/admin/security/users`);
  await expect(page).toHaveURL(`${b}/admin/security/users`);
  await hydrated(page);
  const name = `Two servers ${Date.now()}`;
  await page.getByRole('button', { name: 'Add users' }).click();
  const pane = page.getByRole('dialog', { name: 'Add users' });
  await pane.getByLabel('Group', { exact: true }).check();
  await pane.getByLabel('Name').fill(name);
  await pane.getByLabel('Role').selectOption({ label: 'Viewer' });
  await pane.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByRole('dialog', { name: `${name} was added` })).toBeVisible();
  await page.getByRole('button', { name: 'Done' }).click();

  // A lists it at once: its search index reads the change log before every list query.
  await page.goto(`${a}/admin/security/users?q=${encodeURIComponent(name.toLowerCase())}`);
  const rows = page.locator('table.principals tbody tr');
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText(name);

  // Signed out through A: B no longer knows the session.
  await page.goto(`${a}/admin/security/users`);
  await hydrated(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto(`${b}/admin/security/users`);
  await expect(page).toHaveURL(/\/login\?next=/);
});
