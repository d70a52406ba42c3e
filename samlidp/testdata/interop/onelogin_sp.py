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

import http.server
import json
import secrets
import sys
import urllib.parse

from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.settings import OneLogin_Saml2_Settings


def main():
    idp = OneLogin_Saml2_IdPMetadataParser.parse_remote(sys.argv[1])
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    base = "http://127.0.0.1:%d" % server.server_address[1]
    settings = {
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
    }
    settings["idp"] = idp["idp"]
    Handler.settings = settings
    Handler.pending = {}
    print(base, flush=True)
    server.serve_forever()


class Handler(http.server.BaseHTTPRequestHandler):
    settings = None
    pending = None  # RelayState -> AuthnRequest ID

    def request_data(self, post=None):
        path, _, query = self.path.partition("?")
        return {
            "https": "off",
            "http_host": self.headers["Host"],
            "script_name": path,
            "get_data": dict(urllib.parse.parse_qsl(query)),
            "post_data": post or {},
        }

    def do_GET(self):
        if self.path == "/metadata":
            md = OneLogin_Saml2_Settings(self.settings, sp_validation_only=True).get_sp_metadata()
            if isinstance(md, str):
                md = md.encode()
            self.answer(200, "application/samlmetadata+xml", md)
        elif self.path == "/login":
            auth = OneLogin_Saml2_Auth(self.request_data(), self.settings)
            relay = secrets.token_urlsafe(16)
            url = auth.login(return_to=relay)
            self.pending[relay] = auth.get_last_request_id()
            self.send_response(302)
            self.send_header("Location", url)
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
        auth = OneLogin_Saml2_Auth(self.request_data(post), self.settings)
        auth.process_response(request_id=request_id)
        if auth.get_errors() or not auth.is_authenticated():
            self.json(403, {"error": "%s: %s" % (auth.get_errors(), auth.get_last_error_reason())})
            return
        self.json(200, {
            "nameid": auth.get_nameid(),
            "nameidFormat": auth.get_nameid_format(),
            "attributes": auth.get_attributes(),
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
        sys.stderr.write("onelogin sp: " + (format % args) + "\n")


if __name__ == "__main__":
    main()
