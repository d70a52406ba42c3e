package console_test

import (
	"context"
	"encoding/base32"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/web"
)

var bindPasswordRE = regexp.MustCompile(`<code class="secret" id="bind-password">([^<]+)</code>`)

// A bind account made in the console binds with the password shown once;
// a new password replaces it; a delete needs the name typed.
func TestBindAccounts(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	ctx := context.Background()
	admin := st.client()
	admin.signIn("/admin/", "admin")
	bind := func(pw string) error {
		_, err := st.d.Authenticate(ctx, directory.Login{Kind: directory.KindBindAccount, Name: "nas", Password: pw, Remote: "192.0.2.9", Service: "ldap"})
		return err
	}
	_, body := admin.submit("/admin/bind-accounts", "/admin/bind-accounts", url.Values{"name": {"nas"}, "rights": {"read", "samba"}})
	m := bindPasswordRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no password shown after the create:\n%.600s", body)
	}
	first := m[1]
	if err := bind(first); err != nil {
		t.Errorf("the shown password does not bind: %v", err)
	}
	if a, err := st.d.BindAccount(ctx, "nas"); err != nil || !a.Has(directory.RightSamba) || a.Has(directory.RightAdmin) {
		t.Errorf("nas has rights %v, %v; want read and samba", a.Rights, err)
	}
	if _, page := admin.get("/admin/bind-accounts"); strings.Contains(page, first) {
		t.Error("the password is shown again")
	} else if !strings.Contains(page, "last used ") {
		t.Errorf("the list does not show nas's last use after its bind:\n%.600s", page)
	}
	_, body = admin.submit("/admin/bind-accounts", "/admin/bind-accounts/nas/rotate", nil)
	m = bindPasswordRE.FindStringSubmatch(body)
	if m == nil || m[1] == first {
		t.Fatalf("no new password after the rotation")
	}
	if bind(first) == nil || bind(m[1]) != nil {
		t.Error("after the rotation the old password binds or the new one does not")
	}
	admin.submit("/admin/bind-accounts", "/admin/bind-accounts/nas/delete", url.Values{"confirm": {"wrong"}})
	if _, err := st.d.BindAccount(ctx, "nas"); err != nil {
		t.Fatal("deleted without the name typed")
	}
	if resp, _ := admin.submit("/admin/bind-accounts", "/admin/bind-accounts/nas/delete", url.Values{"confirm": {"nas"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if _, err := st.d.BindAccount(ctx, "nas"); err == nil {
		t.Error("nas is still there")
	}
}

// The sessions page lists who is signed in; ending alice's session signs
// her out at once.
func TestEndSession(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	alice := st.client()
	alice.signIn("/", "alice")
	if resp, _ := alice.get("/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("alice's page: %d", resp.StatusCode)
	}
	admin := st.client()
	admin.signIn("/admin/", "admin")
	_, page := admin.get("/admin/sessions")
	if !strings.Contains(page, `href="/admin/users/alice"`) || !strings.Contains(page, "this browser") {
		t.Fatalf("the sessions page does not list alice and the admin:\n%.800s", page)
	}
	id := regexp.MustCompile(`name="id" value="([^"]+)"`).FindStringSubmatch(page)
	if id == nil {
		t.Fatal("no session to end")
	}
	if resp, _ := admin.submit("/admin/sessions", "/admin/sessions/end", url.Values{"id": {id[1]}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("end session: %d", resp.StatusCode)
	}
	if resp, _ := alice.get("/"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("alice's ended session still opens her page: %d", resp.StatusCode)
	}
}

// The overview counts what the directory holds and warns of an admin
// without a second factor and an external URL that is not https.
func TestOverview(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	ctx := context.Background()
	if _, err := st.d.CreateUser(ctx, directory.User{UID: "root2", Mail: "root2@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.d.ChangeMembers(ctx, "admins", []directory.MemberRef{{Name: "root2"}}, nil); err != nil {
		t.Fatal(err)
	}
	st.d.Audit(directory.AuditEvent{Kind: "login", Subject: "alice", Remote: "198.51.100.7", Service: "ldap", Result: directory.ResultBadPassword})
	admin := st.client()
	admin.signIn("/admin/", "admin")
	_, page := admin.get("/admin/")
	for _, want := range []string{"3 users", "2 groups", "0 bind accounts", "The admin root2 has no second factor", "not https", "198.51.100.7"} {
		if !strings.Contains(page, want) {
			t.Errorf("the overview does not say %q", want)
		}
	}
	if strings.Contains(page, "The admin admin has") {
		t.Error("the overview warns of the admin, who has a second factor")
	}
}

// A user's page lists their recent sign-ins by uid and by mail, newest
// first, and their second factors without secrets.
func TestUserPageSignIns(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	st.d.Audit(directory.AuditEvent{Kind: "login", Subject: "alice", Remote: "198.51.100.1", Service: "ldap", Result: directory.ResultOK})
	st.clock.Advance(time.Minute)
	st.d.Audit(directory.AuditEvent{Kind: "login", Subject: "alice@example.com", Remote: "198.51.100.2", Service: "web", Result: directory.ResultBadPassword})
	admin := st.client()
	admin.signIn("/admin/", "admin")
	_, page := admin.get("/admin/users/alice")
	first, second := strings.Index(page, "198.51.100.2"), strings.Index(page, "198.51.100.1")
	if first < 0 || second < 0 || first > second {
		t.Errorf("the sign-ins by mail and by uid are not listed newest first:\n%s", page)
	}
	secret := strings.ToUpper(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(st.secrets["alice"]))
	if !strings.Contains(page, "Phone") || strings.Contains(page, secret) {
		t.Error("the page does not list alice's factor, or shows its secret")
	}
}

var inlineRE = regexp.MustCompile(`(?i)\s(on[a-z]+|style)="[^"]*"|javascript:`)

// Every console page keeps the Content-Security-Policy: scripts and styles
// only from Atrium's own origin, none inline.
func TestPagesKeepCSP(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	st.addApp("wiki")
	admin := st.client()
	admin.signIn("/admin/", "admin")
	inline := regexp.MustCompile(`<script(?:\s[^>]*)?>`)
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		if !isPage(method, path) {
			continue
		}
		resp, body := admin.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, resp.StatusCode)
			continue
		}
		if csp := resp.Header.Get("Content-Security-Policy"); csp != web.ScriptCSP {
			t.Errorf("%s: Content-Security-Policy %q", path, csp)
		}
		for _, tag := range inline.FindAllString(body, -1) {
			if !strings.Contains(tag, ` src="/admin/assets/`) {
				t.Errorf("%s: inline script %s", path, tag)
			}
		}
		// The policy refuses inline handlers, javascript: links and
		// inline styles too, so a page relying on them would break.
		for _, bad := range inlineRE.FindAllString(body, -1) {
			t.Errorf("%s: %s, which the policy refuses", path, bad)
		}
	}
}
