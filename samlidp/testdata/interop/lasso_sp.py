"""A SAML service provider on python3-lasso that wants its assertions
encrypted, for Atrium's interop tests.

Usage: /usr/bin/python3 lasso_sp.py IDP_METADATA_URL SP_KEY_PEM SP_CERT_PEM

It listens on 127.0.0.1 (a free port), prints its base URL on the first line
of standard output, and serves:
  GET  /metadata  its SP metadata, offering SP_CERT_PEM for encryption
  GET  /login     a redirect to the IdP with a fresh AuthnRequest
                  (HTTP-Redirect binding)
  POST /acs       processAuthnResponseMsg (signature required, the assertion
                  decrypted with SP_KEY_PEM) and acceptSso, answered as JSON:
                  {"nameid", "nameidFormat", "attributes", "relayState"}
                  with 200, or {"error"} with 403.
"""

import http.server
import json
import secrets
import sys
import urllib.parse
import urllib.request

import lasso

METADATA = """<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{base}/metadata">
  <md:SPSSODescriptor AuthnRequestsSigned="false" WantAssertionsSigned="true"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="encryption">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
        Location="{base}/acs" index="0" isDefault="true"/>
  </md:SPSSODescriptor>
</md:EntityDescriptor>
"""


def main():
    idp_metadata_url, key_path, cert_path = sys.argv[1:4]
    with urllib.request.urlopen(idp_metadata_url) as r:
        idp_metadata = r.read().decode()
    with open(key_path) as f:
        key = f.read()
    with open(cert_path) as f:
        cert_pem = f.read()
    cert = "".join(l for l in cert_pem.splitlines() if l and not l.startswith("-----"))

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    base = "http://127.0.0.1:%d" % server.server_address[1]
    Handler.metadata = METADATA.format(base=base, cert=cert)
    Handler.lasso_server = lasso.Server.newFromBuffers(Handler.metadata, key, None, cert_pem)
    Handler.lasso_server.setEncryptionPrivateKey(key)
    Handler.lasso_server.addProviderFromBuffer(lasso.PROVIDER_ROLE_IDP, idp_metadata)
    Handler.idp = idp_metadata_url
    Handler.pending = {}
    print(base, flush=True)
    server.serve_forever()


class Handler(http.server.BaseHTTPRequestHandler):
    metadata = None
    lasso_server = None
    idp = None
    pending = None  # RelayState -> AuthnRequest ID

    def do_GET(self):
        if self.path == "/metadata":
            self.answer(200, "application/samlmetadata+xml", self.metadata.encode())
        elif self.path == "/login":
            login = lasso.Login(self.lasso_server)
            login.initAuthnRequest(self.idp, lasso.HTTP_METHOD_REDIRECT)
            login.request.nameIdPolicy.format = lasso.SAML2_NAME_IDENTIFIER_FORMAT_EMAIL
            login.request.nameIdPolicy.allowCreate = True
            login.request.protocolBinding = lasso.SAML2_METADATA_BINDING_POST
            relay = secrets.token_urlsafe(16)
            login.msgRelayState = relay
            login.buildAuthnRequestMsg()
            self.pending[relay] = login.request.id
            self.send_response(302)
            self.send_header("Location", login.msgUrl)
            self.end_headers()
        else:
            self.answer(404, "text/plain", b"not found")

    def do_POST(self):
        if self.path != "/acs":
            self.answer(404, "text/plain", b"not found")
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        post = dict(urllib.parse.parse_qsl(body))
        request_id = self.pending.pop(post.get("RelayState", ""), None)
        if request_id is None:
            self.json(403, {"error": "no AuthnRequest of this SP is waiting for this RelayState"})
            return
        login = lasso.Login(self.lasso_server)
        login.setSignatureVerifyHint(lasso.PROFILE_SIGNATURE_VERIFY_HINT_FORCE)
        try:
            login.processAuthnResponseMsg(post.get("SAMLResponse", ""))
            login.acceptSso()
        except lasso.Error as e:
            self.json(403, {"error": "lasso: %s" % e})
            return
        if login.response.inResponseTo != request_id:
            self.json(403, {"error": "InResponseTo %s, want %s" % (login.response.inResponseTo, request_id)})
            return
        attributes = {}
        for statement in login.assertion.attributeStatement:
            for attribute in statement.attribute:
                values = attributes.setdefault(attribute.name, [])
                for value in attribute.attributeValue:
                    values.append("".join(node.content for node in value.any))
        self.json(200, {
            "nameid": login.nameIdentifier.content,
            "nameidFormat": login.nameIdentifier.format,
            "attributes": attributes,
            "relayState": post.get("RelayState", ""),
        })

    def json(self, status, value):
        self.answer(status, "application/json", json.dumps(value).encode())

    def answer(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        sys.stderr.write("lasso sp: " + (format % args) + "\n")


if __name__ == "__main__":
    main()
