// A real OpenID provider for the single sign-on tests (Rust black-box and Playwright): the
// OpenID-certified `oidc-provider` package on a loopback port, with a login page of a few lines
// (the package's interaction API, as a provider built on it writes one).
//
// Settings (environment):
//   OIDC_PORT          port to listen on (0: a free one); a restart on the same port keeps the issuer
//   OIDC_CLIENTS       JSON list of {client_id, client_secret, redirect_uris}; without it, the
//                      first line read from stdin once listening (a relying party whose port is
//                      known only after it started); until then every request gets 503
//   OIDC_ISSUER_HOST   host written into the issuer (default 127.0.0.1; another name makes the
//                      discovery document's issuer differ from the address a relying party used)
//   OIDC_CLOCK_OFFSET  seconds added to the provider's clock (a provider whose clock is off)
//   OIDC_ID_TOKEN_TTL  seconds an ID token lasts (default 3600)
//
// Every start signs with a fresh RSA key under a new `kid`: restarting the provider rotates its key.
// The login page takes any password. What is typed as the login names the account (its `sub`
// and the claims it has from then on):
//   "ada@example.com"                 sub and email both that address, verified
//   "sub-1 ada@example.com"           sub "sub-1", email that address
//   "... unverified"                  the same with email_verified false
// Once listening it prints {"issuer": ..., "port": ...}, and {"ready": true} once it has its clients.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const offset = Number(process.env.OIDC_CLOCK_OFFSET || 0) * 1000;
if (offset) {
  const now = Date.now;
  Date.now = () => now() + offset;
}

const registered = (json) => JSON.parse(json).map((c) => ({
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  ...c,
}));

function clientsFromStdin() {
  return new Promise((resolve) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => {
      text += chunk;
      const end = text.indexOf('\n');
      if (end >= 0) resolve(text.slice(0, end));
    });
  });
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };

function account(login) {
  const words = String(login || '').trim().split(/\s+/);
  const unverified = words.at(-1) === 'unverified';
  if (unverified) words.pop();
  const [sub, email] = words.length > 1 ? words : [words[0], words[0]];
  return { sub, email, email_verified: !unverified };
}

// The claims of each account, as its last login said.
const accounts = new Map();

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

const escape = (text) => String(text).replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);

// GET /interaction/:uid shows the login form; POST signs in as the typed account.
async function interaction(provider, req, res) {
  const { uid, prompt } = await provider.interactionDetails(req, res);
  if (req.method === 'POST') {
    const claims = account((await readForm(req)).get('login'));
    if (!claims.sub) {
      res.writeHead(400).end('a login is needed');
      return;
    }
    accounts.set(claims.sub, claims);
    await provider.interactionFinished(req, res, { login: { accountId: claims.sub } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
  res.end(`<!DOCTYPE html><html lang="en"><title>Test provider: sign in</title><link rel="icon" href="data:,">
<h1>Test provider</h1><p>${escape(prompt.name)}</p>
<form method="post" action="/interaction/${escape(uid)}">
<label>Login <input name="login" required autofocus></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button></form></html>`);
}

let handle = (_req, res) => {
  res.writeHead(503).end('not configured yet');
};
const server = createServer((req, res) => handle(req, res));
server.listen(Number(process.env.OIDC_PORT || 0), '127.0.0.1', async () => {
  const { port } = server.address();
  const issuer = `http://${process.env.OIDC_ISSUER_HOST || '127.0.0.1'}:${port}`;
  console.log(JSON.stringify({ issuer, port }));
  const clients = registered(process.env.OIDC_CLIENTS || (await clientsFromStdin()));
  const provider = new Provider(issuer, {
    clients,
    jwks: { keys: [jwk] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    scopes: ['openid', 'email'],
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, i) => `/interaction/${i.uid}` },
    pkce: { required: () => true },
    ttl: { IdToken: Number(process.env.OIDC_ID_TOKEN_TTL || 3600) },
    // The login itself is what the tests drive; consent is granted without a second page.
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email');
      await grant.save();
      return grant;
    },
    async findAccount(_ctx, id) {
      const claims = accounts.get(id) || account(id);
      return { accountId: id, claims: async () => claims };
    },
  });
  provider.on('server_error', (_ctx, err) => console.error(err));
  const callback = provider.callback();
  handle = (req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interaction(provider, req, res).catch((err) => {
        console.error(err);
        if (!res.headersSent) res.writeHead(400).end(String(err.message || err));
      });
    } else {
      callback(req, res);
    }
  };
  console.log(JSON.stringify({ ready: true }));
});
