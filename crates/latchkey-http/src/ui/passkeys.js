// latchkey's only script: passkeys on /login, the sign-in's code step and
// /account. WebAuthn has no form-only equivalent, so this file is served
// from latchkey's own origin and allowed by `script-src 'self'` on those
// pages alone; it runs no inline code and evaluates nothing.
"use strict";
(() => {
  const enc = (buf) =>
    btoa(String.fromCharCode(...new Uint8Array(buf)))
      .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const dec = (s) => {
    const b = atob(s.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(b, (c) => c.charCodeAt(0)).buffer;
  };
  const ids = (list) => (list || []).map((c) => ({ ...c, id: dec(c.id) }));

  // A credential as JSON, binary fields base64url (what latchkey reads).
  const toJSON = (cred) => {
    const r = cred.response;
    const response = { clientDataJSON: enc(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = enc(r.attestationObject);
      if (r.getTransports) response.transports = r.getTransports();
    } else {
      response.authenticatorData = enc(r.authenticatorData);
      response.signature = enc(r.signature);
      if (r.userHandle) response.userHandle = enc(r.userHandle);
    }
    return {
      id: cred.id, rawId: enc(cred.rawId), type: cred.type, response,
      clientExtensionResults: cred.getClientExtensionResults(),
    };
  };

  const post = async (path, body, csrf) => {
    const headers = { "Content-Type": "application/json" };
    if (csrf) headers["X-CSRF-Token"] = csrf;
    const res = await fetch(path, {
      method: "POST", headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(json.detail || "The server refused the passkey.");
    return json;
  };

  // One message, above the passkey button or form (made on first use, so
  // a page shows no empty alert).
  const show = (message) => {
    let box = document.getElementById("passkey-error");
    if (!box) {
      const anchor = document.getElementById("passkey-signin") ||
        document.getElementById("passkey-second") ||
        document.getElementById("passkey-register");
      if (!anchor) return;
      box = document.createElement("div");
      box.id = "passkey-error";
      box.className = "error";
      box.setAttribute("role", "alert");
      anchor.before(box);
    }
    box.textContent = message;
  };

  // Sign in with a passkey alone; `mediation` "conditional" is autofill.
  const signIn = async (mediation, signal) => {
    const options = await post("/v1/passkeys/login/options");
    const publicKey = {
      ...options.publicKey,
      challenge: dec(options.publicKey.challenge),
      allowCredentials: ids(options.publicKey.allowCredentials),
    };
    const cred = await navigator.credentials.get({ publicKey, mediation, signal });
    await post("/v1/passkeys/login", {
      challenge_id: options.challenge_id, credential: toJSON(cred), issue: "session",
    });
    // Back to where forward auth sent the user from, when the server
    // vouched for it (data-rd is rendered only for an allowed host).
    const rd = document.getElementById("passkey-signin")?.dataset.rd;
    window.location.assign(rd && /^https?:\/\//.test(rd) ? rd : "/account");
  };

  // The second step of a password sign-in, with the user's passkey: the
  // ceremony allows only that user's passkeys and is bound to the pending
  // login in the code form's hidden field.
  const secondStep = (button, form) => {
    button.addEventListener("click", async () => {
      const mfa_token = form.elements.mfa_token.value;
      try {
        const options = await post("/v1/mfa/webauthn/options", { mfa_token });
        const publicKey = {
          ...options.publicKey,
          challenge: dec(options.publicKey.challenge),
          allowCredentials: ids(options.publicKey.allowCredentials),
        };
        const cred = await navigator.credentials.get({ publicKey });
        await post("/v1/mfa/verify", {
          mfa_token, challenge_id: options.challenge_id, credential: toJSON(cred),
        });
        const rd = button.dataset.rd;
        window.location.assign(rd && /^https?:\/\//.test(rd) ? rd : "/account");
      } catch (e) {
        show(e.name === "NotAllowedError" ? "No passkey was chosen." : e.message);
      }
    });
  };

  const loginPage = (button) => {
    let autofill = null;
    const startAutofill = async () => {
      if (!window.PublicKeyCredential?.isConditionalMediationAvailable) return;
      if (!(await PublicKeyCredential.isConditionalMediationAvailable())) return;
      autofill = new AbortController();
      // Autofill waits quietly: it ends unanswered when the user picks
      // nothing, types a password, or presses the button instead.
      signIn("conditional", autofill.signal).catch((e) => {
        if (e.name !== "AbortError" && e.name !== "NotAllowedError") show(e.message);
      });
    };
    button.addEventListener("click", () => {
      if (autofill) autofill.abort();
      signIn("optional").catch((e) => {
        show(e.name === "NotAllowedError" ? "No passkey was chosen." : e.message);
        startAutofill();
      });
    });
    startAutofill();
  };

  const accountPage = (form) => {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const csrf = form.elements.csrf_token.value;
      const name = form.elements.name.value;
      try {
        const options = await post("/v1/passkeys/register/options", undefined, csrf);
        const pk = options.publicKey;
        const publicKey = {
          ...pk,
          challenge: dec(pk.challenge),
          user: { ...pk.user, id: dec(pk.user.id) },
          excludeCredentials: ids(pk.excludeCredentials),
        };
        const cred = await navigator.credentials.create({ publicKey });
        await post("/v1/passkeys/register", { credential: toJSON(cred), name }, csrf);
        window.location.assign("/account?notice=passkey");
      } catch (e) {
        show(e.name === "NotAllowedError" ? "The passkey was not created." : e.message);
      }
    });
  };

  if (!window.PublicKeyCredential) {
    show("This browser does not support passkeys.");
    return;
  }
  const button = document.getElementById("passkey-signin");
  if (button) loginPage(button);
  const second = document.getElementById("passkey-second");
  const codeForm = document.getElementById("code-step");
  if (second && codeForm) secondStep(second, codeForm);
  const form = document.getElementById("passkey-register");
  if (form) accountPage(form);
})();
