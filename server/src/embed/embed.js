// Gatehouse's element for portals: <gatehouse-security src token tab>.
// Frames Gatehouse's /embed/security/{tab}, hands it the embed token by postMessage once the
// frame says it is ready (never in the address), sizes the frame to its content, and
// re-dispatches the frame's messages as DOM events on the element (gatehouse:ready,
// gatehouse:navigated, gatehouse:resize, gatehouse:session-expiring, gatehouse:error).
// Protocol: README, "Embedding in a portal".
(() => {
  'use strict';
  if (customElements.get('gatehouse-security')) return;
  const V = 1;
  const script = document.currentScript;
  const scriptOrigin = script && script.src ? new URL(script.src).origin : null;

  class GatehouseSecurity extends HTMLElement {
    static get observedAttributes() { return ['token', 'tab']; }

    connectedCallback() {
      if (this.frame) return;
      let gatehouse;
      try {
        gatehouse = new URL(this.getAttribute('src') || scriptOrigin).origin;
      } catch (_) {
        console.error('gatehouse-security: the src attribute must be the address of Gatehouse');
        return;
      }
      const tab = /^[a-z-]{1,32}$/.test(this.getAttribute('tab') || '') ? this.getAttribute('tab') : 'users';
      this.gatehouse = gatehouse;
      this.ready = false;
      this.sent = null;
      this.onMessage = (event) => this.receive(event);
      window.addEventListener('message', this.onMessage);
      const frame = document.createElement('iframe');
      frame.src = `${gatehouse}/embed/security/${tab}?origin=${encodeURIComponent(location.origin)}`;
      frame.title = this.getAttribute('title') || 'Security settings';
      frame.style.cssText = 'display:block;width:100%;border:0;height:480px';
      this.frame = frame;
      this.appendChild(frame);
    }

    disconnectedCallback() {
      window.removeEventListener('message', this.onMessage);
      if (this.frame) this.frame.remove();
      this.frame = null;
    }

    attributeChangedCallback(name, old, value) {
      if (!this.frame || !this.ready) return;
      if (name === 'token') this.sendToken();
      if (name === 'tab' && value && value !== old) this.post('gatehouse:navigate', { tab: value });
    }

    // Only to the frame, only at Gatehouse's origin: never '*'.
    post(type, payload) {
      if (this.frame && this.frame.contentWindow) {
        this.frame.contentWindow.postMessage({ type, v: V, payload }, this.gatehouse);
      }
    }

    // Each token once: a token is single use. A frame that reloads asks again (gatehouse:ready);
    // the portal then sets a new token attribute.
    sendToken() {
      const token = this.getAttribute('token');
      if (token && token !== this.sent) {
        this.sent = token;
        this.post('gatehouse:auth', { token });
      }
    }

    receive(event) {
      if (!this.frame || event.source !== this.frame.contentWindow || event.origin !== this.gatehouse) return;
      const m = event.data;
      if (!m || typeof m !== 'object' || m.v !== V || typeof m.type !== 'string' || !m.type.startsWith('gatehouse:')) return;
      const payload = m.payload && typeof m.payload === 'object' ? m.payload : {};
      if (m.type === 'gatehouse:ready') {
        this.ready = true;
        this.sendToken();
      } else if (m.type === 'gatehouse:resize' && Number.isFinite(payload.height)) {
        this.frame.style.height = `${Math.max(0, Math.ceil(payload.height))}px`;
      }
      this.dispatchEvent(new CustomEvent(m.type, { detail: payload, bubbles: true }));
    }
  }

  customElements.define('gatehouse-security', GatehouseSecurity);
})();
