package portal_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/internal/sitetest"
)

// acctServeAt is acctServe with the directory and portal on clock.
func acctServeAt(t *testing.T, clock *dirtest.Clock) (*directory.Directory, *httptest.Server) {
	t.Helper()
	d := acctDir(t, directory.Options{Now: clock.Now})
	ext, _ := url.Parse("http://localhost:8080")
	srv := httptest.NewServer(sitetest.Handler(d, ext, clock.Now))
	t.Cleanup(srv.Close)
	return d, srv
}

// TestChangesNeedRecentSignIn: a quarter of an hour after signing in, a
// session still reads the page and changes its password (which asks for
// the current one), but adding or removing a way in asks for a fresh
// sign-in first, from a form or a script; after it, the change goes
// through.
func TestChangesNeedRecentSignIn(t *testing.T) {
	clock := dirtest.NewClock(time.Now())
	_, srv := acctServeAt(t, clock)
	b := acctSignIn(t, srv, "alice")
	resp, body := b.submit("/account/app-passwords", url.Values{"name": {"NAS"}})
	acctWantStatus(t, resp, body, http.StatusOK, "App password for NAS")
	if strings.Contains(b.page(), "data-sign-in-again") {
		t.Error("a fresh session is asked to sign in again")
	}

	clock.Advance(16 * time.Minute)
	if !strings.Contains(b.page(), "data-sign-in-again") {
		t.Error("the page does not say that changes need a fresh sign-in")
	}
	for _, form := range []struct {
		path string
		form url.Values
	}{
		{"/account/app-passwords", url.Values{"name": {"Printer"}}},
		{"/account/factors/remove", url.Values{"id": {"anything"}}},
	} {
		resp, body := b.submit(form.path, form.form)
		acctWantStatus(t, resp, body, http.StatusForbidden, "sign in again first")
		if !strings.Contains(body, `href="/account/sign-in-again"`) {
			t.Errorf("%s: no way to sign in again:\n%s", form.path, body)
		}
	}
	// A script gets the reason as JSON.
	csrf := acctCSRF.FindStringSubmatch(b.page())[1]
	req, _ := http.NewRequest("POST", srv.URL+"/account/factors/remove", nil)
	req.Header.Set("X-CSRF-Token", csrf)
	resp, body = b.do(req)
	var refusal struct{ Error string }
	if resp.StatusCode != http.StatusForbidden || json.Unmarshal([]byte(body), &refusal) != nil || !strings.Contains(refusal.Error, "sign in again") {
		t.Errorf("script request: %d %s", resp.StatusCode, body)
	}
	// Revoking an app password takes access away: no fresh sign-in needed.
	resp, body = b.submit("/account/app-passwords/revoke", url.Values{"name": {"NAS"}})
	acctWantRedirect(t, resp, body, "/?done=app-revoked")

	// Signing in again, in the same browser, opens the changes again.
	b.signInFrom("/account/sign-in-again", "alice")
	resp, body = b.submit("/account/app-passwords", url.Values{"name": {"Printer"}})
	acctWantStatus(t, resp, body, http.StatusOK, "App password for Printer")
}

// TestSignOutEverywhereElse ends every other session of the user at its
// next request, keeps this one (with a new cookie, and its end unchanged),
// and leaves other users alone.
func TestSignOutEverywhereElse(t *testing.T) {
	clock := dirtest.NewClock(time.Now())
	d, srv := acctServeAt(t, clock)
	here := acctSignIn(t, srv, "alice") // at 0
	laptop := acctSignIn(t, srv, "alice")
	bob := acctSignIn(t, srv, "bob")
	clock.Advance(time.Minute)
	before := sitetest.SessionCookie(here.c, here.base)

	resp, body := here.submit("/account/sessions/end-others", nil)
	acctWantRedirect(t, resp, body, "/?done=sessions")
	if after := sitetest.SessionCookie(here.c, here.base); after == before || after == "" {
		t.Error("this browser's session token was not replaced")
	}
	if _, body := here.get("/?done=sessions"); !strings.Contains(body, "You are signed out everywhere else.") {
		t.Error("no notice after signing out elsewhere")
	}
	resp, _ = laptop.get("/")
	acctWantRedirect(t, resp, "", "/login?flow=")
	bob.page() // another user keeps their session
	if ev := lastAccountEvent(t, d); ev.Detail != "signed out other sessions" || ev.Subject != "alice" {
		t.Errorf("audit: %+v", ev)
	}

	// The kept session still ends twelve hours after its sign-in, used
	// often enough never to be idle.
	for range 35 {
		clock.Advance(20 * time.Minute)
		here.page()
	}
	clock.Advance(20 * time.Minute) // 12 h 1 min after the sign-in
	resp, _ = here.get("/")
	acctWantRedirect(t, resp, "", "/login?flow=")
}

func lastAccountEvent(t *testing.T, d *directory.Directory) directory.AuditEvent {
	t.Helper()
	events, err := d.AuditEvents(t.Context(), directory.AuditQuery{Kind: "account", Limit: 1})
	if err != nil || len(events) == 0 {
		t.Fatalf("account events: %v, %v", events, err)
	}
	return events[0]
}
