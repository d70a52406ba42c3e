// Atrium passkeys: runs navigator.credentials.create and .get for the forms
// that ask for it, with the shared helpers of /assets/webauthn.js.
"use strict";
(function () {
  const { creationOptions, requestOptions, attestationJSON, assertionJSON } = window.atriumWebAuthn;

  async function postJSON(url, csrf, body) {
    const res = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    const data = await res.json().catch(function () { return {}; });
    if (!res.ok) throw new Error(data.error || "The server refused the passkey.");
    return data;
  }

  // A browser's own refusals (cancelled, timed out, already registered)
  // become one plain sentence.
  function explain(err) {
    if (err && (err.name === "NotAllowedError" || err.name === "AbortError")) {
      return "The passkey request was cancelled or timed out. Try again.";
    }
    if (err && err.name === "InvalidStateError") {
      return "This authenticator already holds a passkey for your account.";
    }
    return (err && err.message) || "Something went wrong. Try again.";
  }

  function say(el, text) {
    const status = el.querySelector("[data-passkey-status]");
    if (status) status.textContent = text;
  }

  function supported(el) {
    if (window.PublicKeyCredential && navigator.credentials) return true;
    say(el, "This browser cannot use passkeys.");
    return false;
  }

  async function register(form) {
    const d = form.dataset;
    const name = form.elements.name.value.trim();
    if (!name) {
      say(form, "Name the passkey first.");
      return;
    }
    say(form, "Follow your browser's prompt…");
    const begun = await postJSON(d.begin, d.csrf, {});
    const cred = await navigator.credentials.create(creationOptions(begun.options));
    const added = await postJSON(d.finish, d.csrf, { ceremony: begun.ceremony, name: name, credential: attestationJSON(cred) });
    say(form, "Passkey added.");
    if (added.recoveryCodes && d.recovery) {
      showRecoveryCodes(d.recovery, d.csrf);
      return;
    }
    reloadAt(d.done);
  }

  // showRecoveryCodes posts the self-service page's form that issues
  // recovery codes and shows them once.
  function showRecoveryCodes(action, csrf) {
    const f = document.createElement("form");
    f.method = "post";
    f.action = action;
    const token = document.createElement("input");
    token.type = "hidden";
    token.name = "csrf";
    token.value = csrf;
    f.appendChild(token);
    document.body.appendChild(f);
    f.submit();
  }

  // reloadAt loads url afresh, even when it differs from this page only by
  // its fragment (which a plain assign would merely scroll to).
  function reloadAt(url) {
    const next = new URL(url, window.location.href);
    if (next.href.split("#")[0] !== window.location.href.split("#")[0]) {
      window.location.assign(next.href);
      return;
    }
    window.location.hash = next.hash;
    window.location.reload();
  }

  // The sign-in step: the options come with the page, the assertion goes
  // back in the form the sign-in draws around it.
  async function signIn(box) {
    const form = box.closest("form");
    say(box, "Follow your browser's prompt…");
    const cred = await navigator.credentials.get(requestOptions(JSON.parse(box.dataset.options)));
    form.elements.assertion.value = JSON.stringify(assertionJSON(cred));
    form.submit();
  }

  // The enrollment step of a sign-in: the same, with a new passkey.
  async function enroll(box) {
    const form = box.closest("form");
    if (!form.elements.name.value.trim()) {
      say(box, "Name the passkey first.");
      return;
    }
    say(box, "Follow your browser's prompt…");
    const cred = await navigator.credentials.create(creationOptions(JSON.parse(box.dataset.options)));
    form.elements.credential.value = JSON.stringify(attestationJSON(cred));
    form.submit();
  }

  function start(el, run) {
    if (!supported(el)) return;
    run(el).catch(function (err) { say(el, explain(err)); });
  }

  for (const form of document.querySelectorAll("form[data-passkey-register]")) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      start(form, register);
    });
  }
  for (const [selector, run] of [["[data-passkey-login]", signIn], ["[data-passkey-enroll]", enroll]]) {
    for (const box of document.querySelectorAll(selector)) {
      box.querySelector("[data-passkey-start]").addEventListener("click", function (e) {
        e.preventDefault();
        start(box, run);
      });
    }
  }
  for (const box of document.querySelectorAll("[data-passkey-enroll]")) {
    // Enter in the name field asks for the passkey too.
    box.closest("form").addEventListener("submit", function (e) {
      e.preventDefault();
      start(box, enroll);
    });
  }
})();
