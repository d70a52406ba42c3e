// Atrium's browser helpers for WebAuthn, shared by every page that asks for
// a passkey (sign-in, enrollment, the self-service page, push approvals)
// and by the phone setup: base64url to bytes and back, the server's options
// turned into what navigator.credentials takes, and the browser's
// credentials turned into the JSON the server reads. Load it before the
// page's own script; it defines window.atriumWebAuthn.
"use strict";
(function () {
  function fromBase64url(s) {
    s = s.replace(/-/g, "+").replace(/_/g, "/");
    while (s.length % 4) s += "=";
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function toBase64url(buf) {
    let bin = "";
    for (const b of new Uint8Array(buf)) bin += String.fromCharCode(b);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withID(c) {
    return Object.assign({}, c, { id: fromBase64url(c.id) });
  }

  // creationOptions and requestOptions take the server's options, with or
  // without their {"publicKey": ...} wrapper.
  function creationOptions(o) {
    const pk = Object.assign({}, o.publicKey || o);
    pk.challenge = fromBase64url(pk.challenge);
    pk.user = withID(pk.user);
    pk.excludeCredentials = (pk.excludeCredentials || []).map(withID);
    return { publicKey: pk };
  }

  function requestOptions(o) {
    const pk = Object.assign({}, o.publicKey || o);
    pk.challenge = fromBase64url(pk.challenge);
    pk.allowCredentials = (pk.allowCredentials || []).map(withID);
    return { publicKey: pk };
  }

  function credentialJSON(cred, response) {
    return {
      id: cred.id,
      rawId: toBase64url(cred.rawId),
      type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || undefined,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: response,
    };
  }

  function attestationJSON(cred) {
    const r = cred.response;
    return credentialJSON(cred, {
      clientDataJSON: toBase64url(r.clientDataJSON),
      attestationObject: toBase64url(r.attestationObject),
      transports: r.getTransports ? r.getTransports() : [],
    });
  }

  function assertionJSON(cred) {
    const r = cred.response;
    return credentialJSON(cred, {
      clientDataJSON: toBase64url(r.clientDataJSON),
      authenticatorData: toBase64url(r.authenticatorData),
      signature: toBase64url(r.signature),
      userHandle: r.userHandle ? toBase64url(r.userHandle) : undefined,
    });
  }

  window.atriumWebAuthn = Object.freeze({
    fromBase64url: fromBase64url,
    toBase64url: toBase64url,
    creationOptions: creationOptions,
    requestOptions: requestOptions,
    attestationJSON: attestationJSON,
    assertionJSON: assertionJSON,
  });
})();
