package samlidp_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// Refusals beyond negative_test.go: a finished sign-in cannot be replayed,
// a user disabled after signing in gets no more assertions, and a POST
// binding request is capped like a Redirect one, deflated or not.

func TestFinishedFlowIsSingleUse(t *testing.T) {
	h := newHarness(t)
	cloudflareApp(h)
	sp := h.sp(cloudflareACS, cloudflareACS)
	b := newBrowser(t)
	login, _ := startRedirect(t, h, b, sp, "")
	samlResponse(t, b.signIn(h.srv.URL, login, "alice", "alice-password"), cloudflareACS)

	// The same login form (flow id, CSRF token, password) posted again,
	// from the same browser and from a fresh one: no second Response to
	// the same AuthnRequest.
	for name, again := range map[string]*browser{"same browser": b, "other browser": newBrowser(t)} {
		t.Run(name, func(t *testing.T) {
			p := again.signIn(h.srv.URL, login, "alice", "alice-password")
			if p.status != 400 || strings.Contains(p.body, "SAMLResponse") {
				t.Errorf("a finished sign-in flow answered again: %d\n%s", p.status, p.body)
			}
		})
	}
}

func TestDisabledAfterSignIn(t *testing.T) {
	h := newHarness(t)
	cloudflareApp(h)
	sp := h.sp(cloudflareACS, cloudflareACS)
	b := newBrowser(t)
	login, _ := startRedirect(t, h, b, sp, "")
	samlResponse(t, b.signIn(h.srv.URL, login, "alice", "alice-password"), cloudflareACS)

	_, err := h.dir.SetDisabled(context.Background(), "alice", true)
	must(t, err)
	p, _ := startRedirect(t, h, b, sp, "")
	if strings.Contains(p.body, "SAMLResponse") || !strings.Contains(p.body, `name="password"`) {
		t.Errorf("a disabled user's session still signs her in: %d\n%s", p.status, p.body)
	}
}

func TestOversizedPostRequest(t *testing.T) {
	h := newHarness(t)
	cloudflareApp(h)
	huge := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("<a>", 100<<10)))
	p := newBrowser(t).post(h.srv.URL+"/saml/sso", url.Values{"SAMLRequest": {huge}})
	if p.status != 400 || !strings.Contains(p.body, "too large") {
		t.Errorf("a %d-byte POST request: %d\n%s", len(huge), p.status, p.body)
	}
}

// TestDeflatedPostRequest: node-saml deflates POST requests by default;
// Atrium inflates them, under the Redirect binding's cap.
func TestDeflatedPostRequest(t *testing.T) {
	h := newHarness(t)
	cloudflareApp(h)
	deflate := func(parts ...[]byte) string {
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		for _, p := range parts {
			w.Write(p)
		}
		w.Close()
		return base64.StdEncoding.EncodeToString(buf.Bytes())
	}
	sso := func(req string) page {
		return newBrowser(t).post(h.srv.URL+"/saml/sso", url.Values{"SAMLRequest": {req}})
	}
	if p := sso(deflate(authnXML("id-deflated", cloudflareACS, "", h.clock.Now(), ""))); !strings.Contains(p.body, `name="password"`) {
		t.Errorf("a deflated POST request was refused: %d\n%s", p.status, p.body)
	}
	bomb := deflate(authnXML("id-bomb", cloudflareACS, "", h.clock.Now(), ""), bytes.Repeat([]byte(" "), 50<<20))
	if p := sso(bomb); p.status != 400 || !strings.Contains(p.body, "too large") {
		t.Errorf("a deflate bomb over POST: %d\n%s", p.status, p.body)
	}
}
