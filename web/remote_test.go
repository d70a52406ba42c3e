package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/atrium-dir/atrium/web"
)

// Forwarding headers count only from a trusted proxy, and there only the
// hops that trusted proxies appended.
func TestTrustProxies(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, c := range []struct {
		name, peer, cf, want string
		xff                  []string
	}{
		{name: "no headers", peer: "10.1.1.1:5000", want: "10.1.1.1"},
		{name: "untrusted peer, spoofed XFF", peer: "192.0.2.9:5000", xff: []string{"203.0.113.5"}, want: "192.0.2.9"},
		{name: "untrusted peer, spoofed CF", peer: "192.0.2.9:5000", cf: "203.0.113.5", want: "192.0.2.9"},
		{name: "trusted peer", peer: "10.1.1.1:5000", xff: []string{"203.0.113.5"}, want: "203.0.113.5"},
		{name: "right-most untrusted hop", peer: "10.1.1.1:5000", xff: []string{"198.51.100.66, 203.0.113.5, 10.2.2.2"}, want: "203.0.113.5"},
		{name: "headers joined", peer: "10.1.1.1:5000", xff: []string{"198.51.100.66", "203.0.113.5", "10.2.2.2"}, want: "203.0.113.5"},
		{name: "hop with port", peer: "10.1.1.1:5000", xff: []string{"203.0.113.5:4711"}, want: "203.0.113.5"},
		{name: "all trusted", peer: "10.1.1.1:5000", xff: []string{"10.3.3.3, 10.2.2.2"}, want: "10.3.3.3"},
		{name: "garbage stops at the last trusted hop", peer: "10.1.1.1:5000", xff: []string{"<script>, 10.2.2.2"}, want: "10.2.2.2"},
		{name: "garbage only", peer: "10.1.1.1:5000", xff: []string{"not-an-ip"}, want: "10.1.1.1"},
		{name: "cloudflare", peer: "10.1.1.1:5000", cf: "2001:db8::7", want: "2001:db8::7"},
		{name: "XFF before cloudflare", peer: "10.1.1.1:5000", xff: []string{"203.0.113.5"}, cf: "2001:db8::7", want: "203.0.113.5"},
		{name: "IPv6 peer", peer: "[::1]:5000", xff: []string{"203.0.113.5"}, want: "203.0.113.5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var got string
			h := web.TrustProxies(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = web.RemoteAddr(r) }), proxies)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if c.cf != "" {
				r.Header.Set("CF-Connecting-IP", c.cf)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if got != c.want {
				t.Errorf("RemoteAddr %q, want %q", got, c.want)
			}
		})
	}
}
