import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { test, expect, signIn, ADMIN, SAME_ORIGIN } from './fixtures';

// A real OpenID provider for the single sign-on specs: the npm `oidc-provider`
// (end2end/oidc/provider.mjs) on a free loopback port, with Gatehouse registered as a client.
export const CLIENT = { id: 'gatehouse-e2e', secret: 'the e2e client secret, long enough' };

/** Starts the provider around the file's tests; returns its issuer once it answers. */
export function useProvider(): () => string {
  let provider: ChildProcess | undefined;
  let issuer = '';
  test.beforeAll(async ({ baseURL }) => {
    provider = spawn('node', [`${__dirname}/../oidc/provider.mjs`], {
      env: {
        ...process.env,
        OIDC_CLIENTS: JSON.stringify([
          { client_id: CLIENT.id, client_secret: CLIENT.secret, redirect_uris: [`${baseURL}/auth/oidc/callback`] },
        ]),
      },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    for await (const line of createInterface({ input: provider.stdout! })) {
      const said = JSON.parse(line);
      if (said.issuer) issuer = said.issuer;
      if (said.ready) break;
    }
  });
  test.afterAll(async ({ browser }) => {
    // The suite's other tests sign in with passwords: the card is emptied again.
    const page = await browser.newPage();
    await page.goto('/login');
    await signIn(page, ADMIN);
    const removed = await page.request.post('/rpc/sso_remove', { headers: SAME_ORIGIN });
    expect(removed.status()).toBe(200);
    await page.close();
    provider?.kill();
  });
  return () => issuer;
}

/** Signs in on the provider's login page as `login` (see provider.mjs for its forms). */
export async function atProvider(page: import('@playwright/test').Page, issuer: string, login: string) {
  await expect(page).toHaveURL(new RegExp(`^${issuer}/interaction/`));
  await page.getByLabel('Login').fill(login);
  await page.getByRole('button', { name: 'Sign in' }).click();
}
