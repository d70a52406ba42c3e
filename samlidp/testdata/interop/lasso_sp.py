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

import sys
import urllib.request

import lasso

from sphttp import SPHandler, serve

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

    def setup(base):
        Handler.sp_metadata = METADATA.format(base=base, cert=cert)
        Handler.lasso_server = lasso.Server.newFromBuffers(Handler.sp_metadata, key, None, cert_pem)
        Handler.lasso_server.setEncryptionPrivateKey(key)
        Handler.lasso_server.addProviderFromBuffer(lasso.PROVIDER_ROLE_IDP, idp_metadata)
        Handler.idp = idp_metadata_url

    serve(Handler, setup)


class Handler(SPHandler):
    name = "lasso sp"
    sp_metadata = None
    lasso_server = None
    idp = None

    def metadata(self):
        return self.sp_metadata.encode()

    def login_url(self, relay):
        login = lasso.Login(self.lasso_server)
        login.initAuthnRequest(self.idp, lasso.HTTP_METHOD_REDIRECT)
        login.request.nameIdPolicy.format = lasso.SAML2_NAME_IDENTIFIER_FORMAT_EMAIL
        login.request.nameIdPolicy.allowCreate = True
        login.request.protocolBinding = lasso.SAML2_METADATA_BINDING_POST
        login.msgRelayState = relay
        login.buildAuthnRequestMsg()
        return login.msgUrl, login.request.id

    def consume(self, post, request_id):
        login = lasso.Login(self.lasso_server)
        login.setSignatureVerifyHint(lasso.PROFILE_SIGNATURE_VERIFY_HINT_FORCE)
        try:
            login.processAuthnResponseMsg(post.get("SAMLResponse", ""))
            login.acceptSso()
        except lasso.Error as e:
            return 403, {"error": "lasso: %s" % e}
        if login.response.inResponseTo != request_id:
            return 403, {"error": "InResponseTo %s, want %s" % (login.response.inResponseTo, request_id)}
        attributes = {}
        for statement in login.assertion.attributeStatement:
            for attribute in statement.attribute:
                values = attributes.setdefault(attribute.name, [])
                for value in attribute.attributeValue:
                    values.append("".join(node.content for node in value.any))
        return 200, {
            "nameid": login.nameIdentifier.content,
            "nameidFormat": login.nameIdentifier.format,
            "attributes": attributes,
            "relayState": post.get("RelayState", ""),
        }


if __name__ == "__main__":
    main()
