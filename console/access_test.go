package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// routes is every console page and form, with example names.
var routes = []string{
	"GET /admin/", "GET /admin/users", "GET /admin/users?format=json&q=a", "GET /admin/users/new", "POST /admin/users",
	"GET /admin/users/alice", "POST /admin/users/alice", "GET /admin/users/alice/delete",
	"POST /admin/users/alice/disable", "POST /admin/users/alice/enable", "POST /admin/users/alice/invite",
	"POST /admin/users/alice/reset-mfa", "POST /admin/users/alice/sign-out", "POST /admin/users/alice/delete",
	"POST /admin/users/alice/rename", "POST /admin/users/alice/revoke-app-password",
	"GET /admin/groups", "GET /admin/groups/new", "POST /admin/groups", "GET /admin/groups/admins",
	"POST /admin/groups/admins", "POST /admin/groups/admins/members", "POST /admin/groups/admins/members/remove",
	"GET /admin/groups/admins/delete", "POST /admin/groups/admins/delete", "GET /admin/members?q=a", "GET /admin/live",
	"GET /admin/audit", "GET /admin/audit?format=csv", "GET /admin/audit?format=json",
	"GET /admin/bind-accounts", "POST /admin/bind-accounts", "POST /admin/bind-accounts/nas/rotate", "POST /admin/bind-accounts/nas/delete",
	"GET /admin/sessions", "POST /admin/sessions/end", "GET /admin/sign-in-again",
	"GET /admin/apps", "GET /admin/apps/new", "GET /admin/apps/new?preset=cloudflare", "POST /admin/apps",
	"GET /admin/apps/guide/cloudflare", "GET /admin/apps/wiki", "GET /admin/apps/wiki/delete", "POST /admin/apps/wiki/delete",
	"POST /admin/saml/rotate", "GET /admin/apps/new-oidc", "POST /admin/apps/oidc", "POST /admin/apps/wiki/rotate-secret", "POST /admin/apps/wiki/oidc", "POST /admin/apps/wiki", "POST /admin/apps/wiki/use-next-cert",
	"GET /admin/devices", "GET /admin/devices/nslcd", "POST /admin/devices/nslcd/bind-account", "POST /admin/devices/nslcd/test",
	"GET /admin/policy", "POST /admin/policy/mfa", "POST /admin/policy/settings",
}

// isPage reports whether a route is a page an admin opens in the browser,
// rather than a form, an answer for a script or a sign-in.
func isPage(method, path string) bool {
	return method == "GET" && !strings.Contains(path, "format=") && !strings.Contains(path, "sign-in-again") &&
		!strings.HasPrefix(path, "/admin/members") && path != "/admin/live"
}

// A signed-in user outside the admin groups gets 403 on every console
// URL, with a valid CSRF token or not, and changes nothing; the portal
// shows them no link to the console, and shows it to an admin.
func TestNonAdminForbidden(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	st.addApp("wiki")
	alice := st.client()
	if resp, _ := alice.signIn("/", "alice"); resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/" {
		t.Fatalf("alice's sign-in ended with %d at %s", resp.StatusCode, resp.Request.URL)
	}
	_, page := alice.get("/")
	token := csrfRE.FindStringSubmatch(page)[1]
	if strings.Contains(page, "/admin/") {
		t.Error("the portal shows alice, who is no admin, a link to the console")
	}
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		var form url.Values
		if method == "POST" {
			form = changeForm()
			form.Set("csrf", token)
		}
		resp, body := alice.do(method, path, form)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s as alice: %d, want 403\n%.300s", route, resp.StatusCode, body)
		}
	}
	st.unchanged(t)

	admin := st.client()
	admin.signIn("/", "admin")
	if _, page := admin.get("/"); !strings.Contains(page, `href="/admin/"`) {
		t.Error("the portal does not show the admin a link to the console")
	}
}

// A POST without the session's CSRF token is refused and changes nothing.
func TestCSRFlessPostRefused(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	for _, form := range []url.Values{{"cn": {"sneaky"}}, {"cn": {"sneaky"}, "csrf": {"forged"}}} {
		resp, body := admin.do("POST", "/admin/groups", form)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Form expired") {
			t.Errorf("POST without the CSRF token (%v): %d\n%.300s", form, resp.StatusCode, body)
		}
	}
	if _, err := st.d.Group(context.Background(), "sneaky"); err == nil {
		t.Error("a group was created without the CSRF token")
	}
	if resp, _ := admin.do("POST", "/admin/devices/nslcd/bind-account", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a device's bind account without the CSRF token: %d", resp.StatusCode)
	}
	if _, err := st.d.BindAccount(context.Background(), "nslcd"); err == nil {
		t.Error("a device's bind account was created without the CSRF token")
	}
	for _, form := range []url.Values{{"ldap.anonymous": {"tree"}}, {"ldap.anonymous": {"tree"}, "csrf": {"forged"}}} {
		if resp, _ := admin.do("POST", "/admin/policy/settings", form); resp.StatusCode != http.StatusForbidden || st.d.Settings().Anonymous != "none" {
			t.Errorf("a settings change without the CSRF token: %d, ldap.anonymous now %s", resp.StatusCode, st.d.Settings().Anonymous)
		}
	}
	resp, _ := admin.submit("/admin/groups/new", "/admin/groups", url.Values{"cn": {"web team"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the same form with the token: %d", resp.StatusCode)
	}
	if resp, _ := admin.get(resp.Header.Get("Location")); resp.StatusCode != http.StatusOK {
		t.Errorf("the new group's page, %s: %d", resp.Request.URL, resp.StatusCode)
	}
}

// An admin whose sign-in is older than the recent-sign-in window may look
// but is asked to sign in again before a change, and the change waits.
// Signing in again (password and second factor) brings them back to the
// page they were on, where the change now works.
func TestStaleSignInSignsInAgain(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	st.clock.Advance(16 * time.Minute)
	if resp, _ := admin.get("/admin/users/alice"); resp.StatusCode != http.StatusOK {
		t.Fatalf("a page with a stale sign-in: %d", resp.StatusCode)
	}
	_, page := admin.get("/admin/users/alice")
	token := csrfRE.FindStringSubmatch(page)[1]
	req, _ := http.NewRequest("POST", admin.base+"/admin/users/alice/disable", strings.NewReader(url.Values{"csrf": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", admin.base+"/admin/users/alice")
	resp, err := admin.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a change with a stale sign-in: %d, want 403", resp.StatusCode)
	}
	if u, _ := st.d.User(context.Background(), "alice"); u.Disabled {
		t.Fatal("the change was made with a stale sign-in")
	}
	resp, _ = admin.signIn("/admin/sign-in-again?to=%2Fadmin%2Fusers%2Falice", "admin")
	if at := resp.Request.URL.Path; resp.StatusCode != http.StatusOK || at != "/admin/users/alice" {
		t.Errorf("signing in again ends with %d at %s, want back at /admin/users/alice", resp.StatusCode, at)
	}
	if resp, _ := admin.submit("/admin/users/alice", "/admin/users/alice/disable", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the change after signing in again: %d", resp.StatusCode)
	}
	if u, _ := st.d.User(context.Background(), "alice"); !u.Disabled {
		t.Error("alice is not disabled after signing in again")
	}
}

// The console needs a second factor whatever the policy: an admin with a
// password alone is taken to enroll one before any console page, and a
// password-only session is refused.
func TestConsoleNeedsSecondFactor(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, false)
	admin := st.client()
	if resp, _ := admin.signIn("/", "admin"); resp.Request.URL.Path != "/" {
		t.Fatalf("a password-only sign-in to the portal ended at %s", resp.Request.URL)
	}
	resp, body := admin.get("/admin/users")
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("a password-only session opened the console:\n%.300s", body)
	}
	resp, body = admin.signIn("/admin/users", "admin")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="enroll-factor"`) {
		t.Errorf("the admin without a factor is not asked to enroll one: %d\n%.500s", resp.StatusCode, body)
	}
	// Signed out, the admin signs in and is then taken to enroll.
	fresh := st.client()
	resp, body = fresh.signIn("/admin/users", "admin")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `id="enroll-factor"`) {
		t.Errorf("an admin without a factor signing in to the console is not asked to enroll one: %d\n%.500s", resp.StatusCode, body)
	}
	// A user who is no admin is not asked to enroll for a console they
	// may not use: they get the refusal.
	alice := st.client()
	if resp, _ := alice.signIn("/admin/users", "alice"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("alice signing in to the console: %d, want 403", resp.StatusCode)
	}
}
