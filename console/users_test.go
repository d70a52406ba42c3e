package console_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/console"
	"github.com/atrium-dir/atrium/directory"
)

// Membership of an admin group counts through nesting, and the admin
// groups are the ones the console is given: with web.admin_groups set to
// ops, alice (in helpdesk, a member group of ops) uses the console and the
// admin, in admins only, gets 403.
func TestAdminGroupsNested(t *testing.T) {
	st := newSiteWith(t, directory.MFAPolicy{}, true, nil, console.Options{AdminGroups: []string{"ops"}})
	ctx := context.Background()
	if _, err := st.d.CreateGroup(ctx, directory.Group{CN: "helpdesk"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.d.ChangeMembers(ctx, "helpdesk", []directory.MemberRef{{Name: "alice"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.d.ChangeMembers(ctx, "ops", []directory.MemberRef{{Name: "helpdesk", Group: true}}, nil); err != nil {
		t.Fatal(err)
	}
	if resp, _ := st.client().signIn("/admin/users", "alice"); resp.StatusCode != http.StatusOK || resp.Request.URL.Path != "/admin/users" {
		t.Errorf("alice, in ops through helpdesk: %d at %s, want the users page", resp.StatusCode, resp.Request.URL)
	}
	if resp, _ := st.client().signIn("/admin/users", "admin"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the admin, outside ops: %d, want 403", resp.StatusCode)
	}
}

var userLinkRE = regexp.MustCompile(`<a href="/admin/users/(user\d+)">`)

// The users list is paged on the server: following the next-page links
// (in the page and in the JSON the script reads) shows each of 120
// matching users once, 50 at most a page, and no user outside the search.
func TestUsersPaged(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	ctx := context.Background()
	for i := range 120 {
		if _, err := st.d.CreateUser(ctx, directory.User{UID: fmt.Sprintf("user%03d", i), Mail: fmt.Sprintf("u%03d@example.com", i)}); err != nil {
			t.Fatal(err)
		}
	}
	admin := st.client()
	admin.signIn("/admin/", "admin")
	seen := map[string]int{}
	next, pages := "/admin/users?q=user", 0
	for ; next != "" && pages < 10; pages++ {
		_, page := admin.get(next)
		found := userLinkRE.FindAllStringSubmatch(page, -1)
		if len(found) > 50 || strings.Contains(page, `href="/admin/users/alice"`) {
			t.Errorf("%s shows %d users, or alice", next, len(found))
		}
		for _, m := range found {
			seen[m[1]]++
		}
		next = ""
		if m := regexp.MustCompile(`<p id="users-next"><a href="([^"]+)">`).FindStringSubmatch(page); m != nil {
			next = html.UnescapeString(m[1])
		}
	}
	if len(seen) != 120 || pages != 3 {
		t.Errorf("%d pages showed %d distinct users, want 3 pages and 120", pages, len(seen))
	}
	for uid, n := range seen {
		if n != 1 {
			t.Errorf("%s shown %d times", uid, n)
		}
	}
	var first struct {
		Users []struct{ UID string }
		Next  string
	}
	_, raw := admin.get("/admin/users?format=json&q=user")
	if err := json.Unmarshal([]byte(raw), &first); err != nil || len(first.Users) != 50 || !strings.Contains(first.Next, "after=") {
		t.Errorf("the JSON page: %d users, next %q, %v", len(first.Users), first.Next, err)
	}
}

// Signing a user out everywhere and disabling them end their web sessions
// (the sessions page no longer lists them) and their apps' OpenID Connect
// tokens at once; a delete needs the user's uid typed, and an admin cannot delete
// themselves.
func TestUserActionsTakeEffect(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	for _, action := range []string{"sign-out", "disable"} {
		st.clock.Advance(30 * time.Second) // a new authenticator code
		alice := st.client()
		if resp, _ := alice.signIn("/", "alice"); resp.StatusCode != http.StatusOK {
			t.Fatalf("alice's sign-in before %s: %d", action, resp.StatusCode)
		}
		at, rt := st.oidcTokens("alice")
		st.clock.Advance(time.Second)
		if resp, _ := admin.submit("/admin/users/alice", "/admin/users/alice/"+action, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d", action, resp.StatusCode)
		}
		if _, page := admin.get("/admin/sessions"); strings.Contains(page, `href="/admin/users/alice"`) {
			t.Errorf("after %s the sessions page still lists alice as signed in", action)
		}
		if resp, _ := alice.get("/"); resp.StatusCode == http.StatusOK {
			t.Errorf("after %s alice's session still opens her page", action)
		}
		if _, _, err := st.d.OIDCRefreshToken(context.Background(), rt); !errors.Is(err, directory.ErrRevoked) {
			t.Errorf("after %s alice's OpenID Connect refresh token: %v, want it revoked", action, err)
		}
		if _, _, err := st.d.OIDCAccessToken(context.Background(), at); err == nil {
			t.Errorf("after %s alice's OpenID Connect access token still works", action)
		}
	}
	for _, confirm := range []string{"", "bob", "ALICE"} {
		resp, body := admin.submit("/admin/users/alice", "/admin/users/alice/delete", url.Values{"confirm": {confirm}})
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "type alice to confirm") {
			t.Errorf("a delete confirmed with %q: %d\n%.300s", confirm, resp.StatusCode, body)
		}
	}
	if _, err := st.d.User(context.Background(), "alice"); err != nil {
		t.Fatalf("alice was deleted without her uid typed: %v", err)
	}
	if resp, body := admin.submit("/admin/users/admin", "/admin/users/admin/delete", url.Values{"confirm": {"admin"}}); resp.StatusCode == http.StatusSeeOther || !strings.Contains(body, "cannot delete yourself") {
		t.Errorf("the admin deleting themselves: %d\n%.300s", resp.StatusCode, body)
	}
	if _, err := st.d.User(context.Background(), "admin"); err != nil {
		t.Errorf("the admin deleted themselves: %v", err)
	}
	if _, page := admin.get("/admin/users/alice/delete"); !strings.Contains(page, "alice") || !strings.Contains(page, `id="confirm"`) {
		t.Errorf("the delete confirmation does not name alice:\n%.500s", page)
	}
}

// The groups page searches by the start of the name; a group's delete
// needs its name typed.
func TestGroupSearch(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	_, page := admin.get("/admin/groups?q=op")
	if !strings.Contains(page, `href="/admin/groups/ops"`) || strings.Contains(page, `href="/admin/groups/admins"`) {
		t.Errorf("the groups starting with op:\n%.800s", page)
	}
	for _, confirm := range []string{"", "admins", "OPS"} {
		if resp, _ := admin.submit("/admin/groups/ops/delete", "/admin/groups/ops/delete", url.Values{"confirm": {confirm}}); resp.StatusCode == http.StatusSeeOther {
			t.Errorf("ops deleted with %q typed", confirm)
		}
	}
	if _, err := st.d.Group(context.Background(), "ops"); err != nil {
		t.Errorf("ops after the refused deletes: %v", err)
	}
}

// oidcTokens issues uid an access and a refresh token of an OpenID Connect
// app through the directory's steps the provider takes: a request, its
// sign-in, its code, and the tokens for the code.
func (st *site) oidcTokens(uid string) (access, refresh string) {
	st.t.Helper()
	ctx := context.Background()
	u, err := st.d.User(ctx, uid)
	if err != nil {
		st.t.Fatal(err)
	}
	id, code := rand.Text(), rand.Text()
	steps := []func() error{
		func() error {
			return st.d.PutOIDCRequest(ctx, directory.OIDCRequest{ID: id, ClientID: "c1"}, 15*time.Minute)
		},
		func() error { return st.d.CompleteOIDCRequest(ctx, id, u.ID, st.clock.Now(), []string{"pwd"}) },
		func() error { return st.d.SaveOIDCCode(ctx, id, code) },
		func() error { _, err := st.d.OIDCCode(ctx, code); return err },
	}
	for _, step := range steps {
		if err := step(); err != nil {
			st.t.Fatal(err)
		}
	}
	at, _, rt, err := st.d.IssueOIDCTokens(ctx, directory.OIDCIssue{
		Grant:   directory.OIDCGrant{ID: id, ClientID: "c1", UserID: u.ID, Scopes: []string{"openid", "offline_access"}, AuthTime: st.clock.Now()},
		Refresh: true, AccessTTL: time.Hour, RefreshTTL: 24 * time.Hour,
	})
	if err != nil {
		st.t.Fatal(err)
	}
	return at, rt
}

// The user page saves names, mail, shell, home and SSH keys (one a line)
// through directory.UpdateUser and shows them again; it shows the user's
// direct and effective groups, and an app password's last use. A refused
// primary group after the rest was saved says so, and the saved part is
// audited.
func TestUserEdit(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	ctx := context.Background()
	if _, err := st.d.CreateGroup(ctx, directory.Group{CN: "dev"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.d.ChangeMembers(ctx, "dev", []directory.MemberRef{{Name: "alice"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.d.ChangeMembers(ctx, "ops", []directory.MemberRef{{Name: "dev", Group: true}}, nil); err != nil {
		t.Fatal(err)
	}
	pw, err := st.d.AddAppPassword(ctx, "alice", "NAS")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.d.Authenticate(ctx, directory.Login{Kind: directory.KindUser, Name: "alice", Password: pw, Remote: "192.0.2.9", Service: "ldap", AppPasswords: true}); err != nil {
		t.Fatal(err)
	}
	admin := st.client()
	admin.signIn("/admin/", "admin")
	form := url.Values{"given": {"Alicia"}, "sn": {"Liddell-Hart"}, "name": {"Alicia L."}, "mail": {"alicia@example.com"},
		"shell": {"/bin/zsh"}, "home": {"/srv/home/alice"}, "ssh": {"ssh-ed25519 AAAAone alice@a\r\n\r\n  ssh-ed25519 AAAAtwo alice@b  \n"}}
	if resp, body := admin.submit("/admin/users/alice", "/admin/users/alice", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the edit: %d\n%.500s", resp.StatusCode, body)
	}
	u := mustUser(t, st.d, "alice")
	if u.GivenName != "Alicia" || u.Surname != "Liddell-Hart" || u.DisplayName != "Alicia L." || u.Mail != "alicia@example.com" ||
		u.LoginShell != "/bin/zsh" || u.HomeDirectory != "/srv/home/alice" || strings.Join(u.SSHKeys, "|") != "ssh-ed25519 AAAAone alice@a|ssh-ed25519 AAAAtwo alice@b" {
		t.Errorf("alice after the edit: %+v", u)
	}
	_, page := admin.get("/admin/users/alice")
	for _, want := range []string{`value="/srv/home/alice"`, "ssh-ed25519 AAAAtwo alice@b", `Direct: <a href="/admin/groups/dev">dev</a>`, "ops", "last used "} {
		if !strings.Contains(page, want) {
			t.Errorf("alice's page does not show %q", want)
		}
	}
	if eff := page[strings.Index(page, "Effective"):]; !strings.Contains(eff[:strings.Index(eff, "</p>")], "ops") {
		t.Errorf("alice's effective groups lack ops (through dev): %s", eff[:strings.Index(eff, "</p>")])
	}
	form.Set("name", "Alicia Liddell")
	form.Set("group", "nosuch")
	resp, body := admin.submit("/admin/users/alice", "/admin/users/alice", form)
	if resp.StatusCode == http.StatusSeeOther || !strings.Contains(body, "nosuch") {
		t.Errorf("a primary group that does not exist: %d\n%.500s", resp.StatusCode, body)
	}
	if u := mustUser(t, st.d, "alice"); u.DisplayName == "Alicia Liddell" {
		edits := 0
		for _, e := range adminEvents(t, st.d) {
			if e.Subject == "alice" && e.Detail == "user edit" {
				edits++
			}
		}
		if edits != 2 || !strings.Contains(body, "The other changes are saved; the primary group is not.") {
			t.Errorf("the name was saved with the group refused, but %d edits are audited and the page says:\n%s", edits, body)
		}
	}
}

// The users search finds a user by the start of their uid, their mail
// or their name, on the page and in the JSON the script reads.
func TestUserSearchFields(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	if _, err := st.d.CreateUser(context.Background(), directory.User{UID: "bob", Mail: "robert@example.com", DisplayName: "Bobby Tables"}); err != nil {
		t.Fatal(err)
	}
	admin := st.client()
	admin.signIn("/admin/", "admin")
	for q, want := range map[string]string{"bo": "bob", "robert": "bob", "Bobby": "bob", "ada": "admin", "ALI": "alice"} {
		_, page := admin.get("/admin/users?q=" + url.QueryEscape(q))
		found := regexp.MustCompile(`<a href="/admin/users/([^"]+)">`).FindAllStringSubmatch(page, -1)
		if len(found) != 1 || found[0][1] != want {
			t.Errorf("a search for %q finds %q, want %s alone", q, found, want)
		}
		_, raw := admin.get("/admin/users?format=json&q=" + url.QueryEscape(q))
		if !strings.Contains(raw, `"uid":"`+want+`"`) {
			t.Errorf("the JSON search for %q: %s", q, raw)
		}
	}
}

// A rename typed with spaces around the new name goes to the renamed
// user's page and is audited with the name as saved.
func TestRenameTrimmed(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	resp, _ := admin.submit("/admin/users/alice", "/admin/users/alice/rename", url.Values{"new": {"  alys "}})
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/admin/users/alys?done=saved" {
		t.Fatalf("the rename: %d to %q", resp.StatusCode, loc)
	}
	if resp, _ := admin.get(resp.Header.Get("Location")); resp.StatusCode != http.StatusOK {
		t.Errorf("the renamed user's page: %d", resp.StatusCode)
	}
	events := adminEvents(t, st.d)
	if e := events[len(events)-1]; e.Detail != "user rename to alys" {
		t.Errorf("the rename is audited as %q", e.Detail)
	}
}

var userPasswordRE = regexp.MustCompile(`<code class="secret" id="user-password">([^<]+)</code>`)

// A user can be created with a generated password instead of an invite
// link, as `atrium user add` does: the password is shown once and signs
// the user in, the creation is audited, and no invite is made.
func TestCreateUserWithPassword(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	if _, page := admin.get("/admin/users/new"); !strings.Contains(page, `name="start" value="invite" checked`) {
		t.Error("the invite link is not the default")
	}
	resp, body := admin.submit("/admin/users/new", "/admin/users", url.Values{"uid": {"bob"}, "mail": {"bob@example.com"}, "start": {"password"}})
	m := userPasswordRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil || len(m[1]) < 20 {
		t.Fatalf("the create: %d, no password shown\n%.600s", resp.StatusCode, body)
	}
	ctx := context.Background()
	if _, err := st.d.Authenticate(ctx, directory.Login{Kind: directory.KindUser, Name: "bob", Password: html.UnescapeString(m[1]), Remote: "192.0.2.9", Service: "web"}); err != nil {
		t.Errorf("the password shown does not sign bob in: %v", err)
	}
	if _, page := admin.get("/admin/users/bob"); strings.Contains(page, m[1]) {
		t.Error("bob's page shows the password again")
	}
	var details []string
	for _, e := range adminEvents(t, st.d) {
		if e.Subject == "bob" {
			details = append(details, e.Detail)
		}
	}
	if strings.Join(details, ",") != "user add" {
		t.Errorf("bob's audit events: %q, want the add alone", details)
	}
}
