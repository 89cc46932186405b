// The frame's side of Gatehouse's embedding protocol (README, "Embedding in a portal").
// Inlined into the head of /embed/* pages with the page's CSP nonce, so it runs before the
// WASM arrives. It holds the embed session in memory only (no cookie, no storage), adds it as
// a header to this origin's server-function calls, and reports its state on <html> for the app.
(() => {
  'use strict';
  const V = 1;
  const HEADER = 'Gatehouse-Embed-Session';
  const root = document.documentElement;
  const framed = window.parent !== window;
  const ancestors = location.ancestorOrigins;

  // The portal's origin: embed.js names it in the address; a plain iframe may leave that to
  // what the browser knows. Where the browser knows the parent, the two must agree.
  let parentOrigin = null;
  try {
    const named = new URLSearchParams(location.search).get('origin')
      || (ancestors && ancestors[0])
      || (document.referrer && new URL(document.referrer).origin);
    parentOrigin = named ? new URL(named).origin : null;
  } catch (_) { parentOrigin = null; }
  if (ancestors && ancestors.length && ancestors[0] !== parentOrigin) parentOrigin = null;

  let session = null;
  let expiresAt = 0;
  let timers = [];
  let lastTab = null;
  let wantedTab = null;
  let deniedSent = false;

  function setState(state, message) {
    root.setAttribute('data-embed-state', state);
    if (message) root.setAttribute('data-embed-error', message);
    else root.removeAttribute('data-embed-error');
    window.dispatchEvent(new Event('gatehouse-embed:state'));
  }

  // Only ever to the parent, only at its checked origin: never '*'.
  function post(type, payload) {
    if (framed && parentOrigin) window.parent.postMessage({ type, v: V, payload: payload || {} }, parentOrigin);
  }

  function fail(code, message) {
    post('gatehouse:error', { code, message });
    setState('error', message);
  }

  function currentTab() {
    const m = location.pathname.match(/^\/embed\/security\/([a-z-]+)/);
    return m ? m[1] : 'users';
  }

  function ended() {
    if (!session) return;
    session = null;
    timers.forEach(clearTimeout);
    fail('session_expired', 'The embedded session has ended. Reload the portal page to go on.');
  }

  function schedule() {
    timers.forEach(clearTimeout);
    const left = expiresAt * 1000 - Date.now();
    timers = [
      setTimeout(() => post('gatehouse:session-expiring', { expiresAt }), Math.max(0, left - 60000)),
      setTimeout(ended, Math.max(0, left)),
    ];
  }

  // Server functions carry the session; nothing else does, and nothing goes to another origin.
  // No credentials: nothing inside the frame depends on (or stores) a cookie.
  const fetchOriginal = window.fetch.bind(window);
  window.fetch = (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (!session || url.origin !== location.origin || !url.pathname.startsWith('/rpc/')) {
      return fetchOriginal(request);
    }
    const withSession = new Request(request, { credentials: 'omit' });
    withSession.headers.set(HEADER, session);
    return fetchOriginal(withSession).then((response) => {
      if (response.status === 401) ended();
      return response;
    });
  };

  async function exchange(token) {
    const headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    if (session) headers[HEADER] = session;
    let response;
    try {
      response = await fetchOriginal('/embed/session', {
        method: 'POST',
        headers,
        credentials: 'omit',
        body: JSON.stringify({ token, parent: parentOrigin }),
      });
    } catch (_) {
      return fail('unreachable', 'Gatehouse could not be reached.');
    }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      return fail(body.code || 'refused', body.error || 'The portal could not sign in to Gatehouse.');
    }
    const first = !session;
    session = body.session;
    expiresAt = body.expiresAt;
    schedule();
    setState('live');
    if (first && body.tab) navigate(body.tab);
  }

  // A tab change asked for by the portal: a click on the tab, once the app is live, so that
  // the router does it as a user's click would.
  function navigate(tab) {
    if (typeof tab !== 'string' || !/^[a-z-]{1,32}$/.test(tab)) return;
    wantedTab = tab;
    applyNavigate();
  }

  function applyNavigate() {
    if (!wantedTab) return;
    if (wantedTab === currentTab()) { wantedTab = null; return; }
    const link = document.querySelector(`a[role="tab"][href="/embed/security/${wantedTab}"]`);
    if (link && document.body && document.body.hasAttribute('data-hydrated')) {
      wantedTab = null;
      link.click();
    }
  }

  function navigated() {
    const tab = currentTab();
    if (session && tab !== lastTab && document.querySelector('[role="tabpanel"]')) {
      lastTab = tab;
      post('gatehouse:navigated', { tab });
    }
  }

  for (const name of ['pushState', 'replaceState']) {
    const original = history[name].bind(history);
    history[name] = (...args) => { original(...args); navigated(); };
  }
  window.addEventListener('popstate', navigated);

  // The page changes as the app renders: a tab becomes visible, a 403 panel shows.
  new MutationObserver(() => {
    applyNavigate();
    navigated();
    if (session && !deniedSent && document.querySelector('.notice-denied')) {
      deniedSent = true;
      post('gatehouse:error', { code: 'forbidden', message: 'Only administrators can open the Security page.' });
    }
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-hydrated'] });

  let lastHeight = 0;
  function resized() {
    const height = Math.ceil(root.getBoundingClientRect().height);
    if (height !== lastHeight) {
      lastHeight = height;
      post('gatehouse:resize', { height });
    }
  }
  document.addEventListener('DOMContentLoaded', () => {
    new ResizeObserver(resized).observe(document.body);
    resized();
  });

  window.addEventListener('message', (event) => {
    if (!framed || event.source !== window.parent || event.origin !== parentOrigin) return;
    const m = event.data;
    if (!m || typeof m !== 'object' || m.v !== V || typeof m.type !== 'string') return;
    const payload = m.payload && typeof m.payload === 'object' ? m.payload : {};
    if (m.type === 'gatehouse:auth' && typeof payload.token === 'string') exchange(payload.token);
    else if (m.type === 'gatehouse:navigate') navigate(payload.tab);
  });

  if (!framed) {
    setState('error', 'This page is shown inside a portal. Open the Security page itself instead.');
  } else if (!parentOrigin) {
    setState('error', 'The embedding page did not say which portal it is (origin).');
  } else {
    post('gatehouse:ready', { tab: currentTab() });
  }
})();
