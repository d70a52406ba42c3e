package samlidp_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// Refusals beyond negative_test.go: a finished sign-in cannot be replayed,
// a user disabled after signing in gets no more assertions, and a POST
// binding request is capped like a Redirect one.

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
