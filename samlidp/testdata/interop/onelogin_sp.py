"""A SAML service provider on python3-onelogin-saml2 in strict mode, for
Atrium's interop tests.

Usage: /usr/bin/python3 onelogin_sp.py IDP_METADATA_URL

It listens on 127.0.0.1 (a free port), prints its base URL on the first line
of standard output, and serves:
  GET  /metadata  its SP metadata
  GET  /login     a redirect to the IdP with a fresh AuthnRequest
                  (HTTP-Redirect binding)
  POST /acs       process_response on the posted SAMLResponse, answered
                  as JSON: {"nameid", "nameidFormat", "attributes",
                  "relayState"} with 200, or {"error"} with 403.
Each request ID is good for one response: the RelayState names it.
"""

import sys
import urllib.parse

from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from sphttp import SPHandler, serve


def main():
    idp = OneLogin_Saml2_IdPMetadataParser.parse_remote(sys.argv[1])

    def setup(base):
        Handler.settings = {
            "strict": True,
            "sp": {
                "entityId": base + "/metadata",
                "assertionConsumerService": {"url": base + "/acs", "binding": OneLogin_Saml2_Constants.BINDING_HTTP_POST},
                "NameIDFormat": OneLogin_Saml2_Constants.NAMEID_EMAIL_ADDRESS,
            },
            "security": {
                "wantMessagesSigned": True,
                "wantAssertionsSigned": True,
                "wantNameId": True,
                "wantAttributeStatement": True,
                "rejectDeprecatedAlgorithm": True,
            },
            "idp": idp["idp"],
        }

    serve(Handler, setup)


class Handler(SPHandler):
    name = "onelogin sp"
    settings = None

    def request_data(self, post=None):
        path, _, query = self.path.partition("?")
        return {
            "https": "off",
            "http_host": self.headers["Host"],
            "script_name": path,
            "get_data": dict(urllib.parse.parse_qsl(query)),
            "post_data": post or {},
        }

    def metadata(self):
        md = OneLogin_Saml2_Settings(self.settings, sp_validation_only=True).get_sp_metadata()
        return md.encode() if isinstance(md, str) else md

    def login_url(self, relay):
        auth = OneLogin_Saml2_Auth(self.request_data(), self.settings)
        url = auth.login(return_to=relay)
        return url, auth.get_last_request_id()

    def consume(self, post, request_id):
        auth = OneLogin_Saml2_Auth(self.request_data(post), self.settings)
        auth.process_response(request_id=request_id)
        if auth.get_errors() or not auth.is_authenticated():
            return 403, {"error": "%s: %s" % (auth.get_errors(), auth.get_last_error_reason())}
        return 200, {
            "nameid": auth.get_nameid(),
            "nameidFormat": auth.get_nameid_format(),
            "attributes": auth.get_attributes(),
            "relayState": post.get("RelayState", ""),
        }


if __name__ == "__main__":
    main()
