// A SAML service provider on @node-saml/node-saml, for Atrium's interop
// tests (samlidp/interop_node_test.go).
//
// Usage: node sp.js SSO_URL IDP_ENTITY_ID IDP_CERT_BASE64...
//
// With SP_KEY and SP_CERT naming PEM files in the environment, it signs
// its AuthnRequests (RSA-SHA256) and its metadata says so. With
// SP_DECRYPT_KEY and SP_DECRYPT_CERT, its metadata offers that certificate
// for encryption and it decrypts assertions with the key.
//
// It listens on 127.0.0.1 (a free port), prints its base URL on the first
// line of standard output, and serves:
//   GET  /metadata  its SP metadata
//   GET  /login     a redirect to the IdP with a fresh AuthnRequest
//   GET  /login-post  a page with a form that posts a fresh AuthnRequest to
//                   the IdP (HTTP-POST binding; deflated, as node-saml does
//                   by default)
//   POST /acs       validatePostResponseAsync on the posted SAMLResponse,
//                   answered as JSON: {nameid, nameidFormat, attributes,
//                   relayState} with 200, or {error} with 403.
// Both the Response and the Assertion must be signed, and InResponseTo must
// name a request this process made and has not yet seen answered.
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const { SAML } = require("@node-saml/node-saml");

const [entryPoint, idpIssuer, ...idpCerts] = process.argv.slice(2);
if (!entryPoint || !idpIssuer || idpCerts.length === 0) {
  console.error("usage: node sp.js SSO_URL IDP_ENTITY_ID IDP_CERT_BASE64...");
  process.exit(2);
}

const signing = process.env.SP_KEY
  ? { privateKey: fs.readFileSync(process.env.SP_KEY), signatureAlgorithm: "sha256", digestAlgorithm: "sha256" }
  : {};
const spCert = process.env.SP_CERT ? fs.readFileSync(process.env.SP_CERT, "utf8") : null;
const decryption = process.env.SP_DECRYPT_KEY ? { decryptionPvk: fs.readFileSync(process.env.SP_DECRYPT_KEY) } : {};
const decryptCert = process.env.SP_DECRYPT_CERT ? fs.readFileSync(process.env.SP_DECRYPT_CERT, "utf8") : null;

const server = http.createServer(async (req, res) => {
  try {
    if (req.method === "GET" && req.url === "/metadata") {
      reply(res, 200, "application/samlmetadata+xml", saml.generateServiceProviderMetadata(decryptCert, spCert));
    } else if (req.method === "GET" && req.url === "/login") {
      const relay = "node-" + Math.random().toString(36).slice(2);
      const url = await saml.getAuthorizeUrlAsync(relay, req.headers.host, {});
      res.writeHead(302, { Location: url });
      res.end();
    } else if (req.method === "GET" && req.url === "/login-post") {
      const relay = "node-" + Math.random().toString(36).slice(2);
      reply(res, 200, "text/html", await saml.getAuthorizeFormAsync(relay, req.headers.host, {}));
    } else if (req.method === "POST" && req.url === "/acs") {
      const form = new URLSearchParams(await body(req));
      const { profile } = await saml.validatePostResponseAsync({
        SAMLResponse: form.get("SAMLResponse") || "",
        RelayState: form.get("RelayState") || "",
      });
      const attributes = {};
      for (const [name, value] of Object.entries(profile.attributes || {})) {
        attributes[name] = [].concat(value);
      }
      json(res, 200, {
        nameid: profile.nameID,
        nameidFormat: profile.nameIDFormat,
        attributes,
        relayState: form.get("RelayState") || "",
      });
    } else {
      reply(res, 404, "text/plain", "not found");
    }
  } catch (err) {
    console.error("node-saml sp:", req.method, req.url, err.message);
    json(res, 403, { error: err.message });
  }
});

let saml;
server.listen(0, "127.0.0.1", () => {
  const base = `http://127.0.0.1:${server.address().port}`;
  saml = new SAML({
    entryPoint,
    idpIssuer,
    idpCert: idpCerts.map(pem),
    issuer: base + "/metadata",
    callbackUrl: base + "/acs",
    audience: base + "/metadata",
    identifierFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    validateInResponseTo: "always",
    ...signing,
    ...decryption,
  });
  console.log(base);
});

function pem(b64) {
  const lines = b64.match(/.{1,64}/g).join("\n");
  return `-----BEGIN CERTIFICATE-----\n${lines}\n-----END CERTIFICATE-----\n`;
}

function body(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString()));
    req.on("error", reject);
  });
}

function json(res, status, value) {
  reply(res, status, "application/json", JSON.stringify(value));
}

function reply(res, status, type, text) {
  res.writeHead(status, { "Content-Type": type });
  res.end(text);
}
