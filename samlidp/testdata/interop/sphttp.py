"""The HTTP side that Atrium's Python test SPs share: serving on a free
loopback port, the /metadata, /login and /acs routes, one AuthnRequest ID
per RelayState, and JSON answers. Each SP supplies the SAML work."""

import http.server
import json
import secrets
import sys
import urllib.parse


class SPHandler(http.server.BaseHTTPRequestHandler):
    name = "sp"
    pending = None  # RelayState -> AuthnRequest ID

    def metadata(self):
        """The SP's metadata, as bytes."""
        raise NotImplementedError

    def login_url(self, relay):
        """A redirect URL to the IdP carrying a new AuthnRequest and relay
        as its RelayState, and the request's ID."""
        raise NotImplementedError

    def consume(self, post, request_id):
        """Checks the posted response to request_id: (status, JSON value)."""
        raise NotImplementedError

    def do_GET(self):
        if self.path == "/metadata":
            self.answer(200, "application/samlmetadata+xml", self.metadata())
        elif self.path == "/login":
            relay = secrets.token_urlsafe(16)
            url, request_id = self.login_url(relay)
            self.pending[relay] = request_id
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
        self.json(*self.consume(post, request_id))

    def json(self, status, value):
        self.answer(status, "application/json", json.dumps(value).encode())

    def answer(self, status, content_type, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        sys.stderr.write(self.name + ": " + (format % args) + "\n")


def serve(handler, setup):
    """Listens on a free loopback port, calls setup with the base URL,
    prints the base URL and serves until killed."""
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    base = "http://127.0.0.1:%d" % server.server_address[1]
    handler.pending = {}
    setup(base)
    print(base, flush=True)
    server.serve_forever()
