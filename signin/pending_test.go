package signin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// A pending flow (no password yet) lives only in its sealed token: a
// token altered, from another browser, older than the flow's lifetime or
// already used for a sign-in is refused, and an honest one signs in.
func TestPendingFlowToken(t *testing.T) {
	srv, _, clock := mfaServe(t, directory.MFAPolicy{})
	start := func(b *mfaBrowser) (string, string) {
		t.Helper()
		resp, _ := b.read(b.c.Get(srv.URL + "/login"))
		loc := resp.Header.Get("Location")
		token := strings.TrimPrefix(loc, "/login?flow=")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(token, "p.") {
			t.Fatalf("GET /login: %d to %q, want a pending flow", resp.StatusCode, loc)
		}
		_, body := b.read(b.c.Get(srv.URL + loc))
		return token, body
	}
	expired := func(name string, b *mfaBrowser, token string) {
		t.Helper()
		resp, body := b.read(b.c.Get(srv.URL + "/login?flow=" + url.QueryEscape(token)))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expired") {
			t.Errorf("%s: %d, want the expired page", name, resp.StatusCode)
		}
	}

	b := mfaNewBrowser(t, srv)
	token, body := start(b)
	flip := []byte(token)
	flip[len(flip)/2] ^= 1
	expired("an altered token", b, string(flip))
	expired("another browser", mfaNewBrowser(t, srv), token)

	resp, _ := b.submit(body, url.Values{"username": {"alice"}, "password": {"alice-password"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || b.session() == "" {
		t.Fatalf("signing in on a pending flow: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, again := b.submit(body, url.Values{"username": {"alice"}, "password": {"alice-password"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(again, "expired") {
		t.Errorf("the same pending flow used for a second sign-in: %d", resp.StatusCode)
	}

	late := mfaNewBrowser(t, srv)
	token, _ = start(late)
	clock.Advance(16 * time.Minute)
	expired("a token past the flow's lifetime", late, token)
}
