package console_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/samlidp"
)

// The routes list the access tests walk names every pattern routes.go
// adds (the style sheet and script aside, which anyone may fetch), so a
// new page or form cannot escape TestNonAdminForbidden,
// TestEveryPostNeedsCSRF and TestPagesKeepCSP.
func TestRoutesListEveryPattern(t *testing.T) {
	patterns := consolePatterns(t)
	if len(patterns) < 40 {
		t.Fatalf("read only %d patterns from routes.go: %q", len(patterns), patterns)
	}
	mux := http.NewServeMux()
	for _, p := range patterns {
		mux.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
	}
	hit := map[string]bool{}
	for _, route := range routes {
		method, target, _ := strings.Cut(route, " ")
		req, err := http.NewRequest(method, "http://atrium.test"+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, p := mux.Handler(req)
		if p == "" {
			t.Errorf("%s matches no pattern of routes.go", route)
		}
		hit[p] = true
	}
	for _, p := range patterns {
		if !hit[p] && p != "GET /admin/assets/" {
			t.Errorf("no route of the access tests' list reaches %q", p)
		}
	}
}

// consolePatterns reads the patterns routes.go gives mux.HandleFunc and
// mux.Handle.
func consolePatterns(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "routes.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 2 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		lit, isLit := call.Args[0].(*ast.BasicLit)
		if ok && isLit && (sel.Sel.Name == "HandleFunc" || sel.Sel.Name == "Handle") {
			p, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatal(err)
			}
			patterns = append(patterns, p)
		}
		return true
	})
	return patterns
}

// changeForm is a form filled for every console POST, so a POST that got
// past the checks would change something.
func changeForm() url.Values {
	return url.Values{"confirm": {"alice"}, "member": {"alice"}, "uid": {"mallory"}, "mail": {"m@example.com"}, "cn": {"evil"},
		"name": {"evil"}, "entity_id": {"https://evil.example/sp"}, "acs": {"https://evil.example/acs"}, "step": {"stage"},
		"preset": {"cloudflare"}, "nameid": {"uid"}, "groups": {"ops"}, "uidnumber": {"42000"}, "gidnumber": {"42000"},
		"redirect_uris": {"https://evil.example/cb"}, "ldap.anonymous": {"tree"}, "require": {"all"}, "new": {"mallory"},
		"description": {"changed"}, "user": {"alice"}}
}

// unchanged fails t if the directory holds a trace of changeForm posted
// to any console route: the users, groups, apps, SAML key and settings
// newSite made are as they were, and no admin change is in the audit log.
func (st *site) unchanged(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	if u, err := st.d.User(ctx, "alice"); err != nil || u.Disabled || u.UIDNumber == 42000 {
		t.Errorf("alice was renamed, deleted, disabled or renumbered: %+v, %v", u, err)
	}
	if _, err := st.d.User(ctx, "mallory"); err == nil {
		t.Error("a user mallory was created")
	}
	if g, err := st.d.Group(ctx, "ops"); err != nil || g.Description != "Operations" || len(g.Users) != 0 {
		t.Errorf("ops was changed or deleted: %+v, %v", g, err)
	}
	if _, err := st.d.Group(ctx, "evil"); err == nil {
		t.Error("a group was created")
	}
	if _, err := st.d.App(ctx, "evil"); err == nil {
		t.Error("an app was added")
	}
	if app, err := st.d.App(ctx, "wiki"); err != nil || app.Preset != "generic" || app.NameID != "email" || len(app.Groups) != 0 {
		t.Errorf("an app was deleted or changed: %+v, %v", app, err)
	}
	if err := samlidp.SwitchKey(ctx, st.d); err == nil {
		t.Error("a new SAML certificate was staged")
	}
	if s := st.d.Settings(); s.Anonymous != "none" || s.MFARequire != "none" {
		t.Errorf("the settings were changed: %+v", s)
	}
	if _, err := st.d.BindAccount(ctx, "nslcd"); err == nil {
		t.Error("a device's bind account was created")
	}
	events, err := st.d.AuditEvents(ctx, directory.AuditQuery{Kind: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		t.Errorf("the audit log holds a change: %s %s by %s", e.Subject, e.Detail, e.Actor)
	}
}

// Every console POST, by an admin with a fresh sign-in and a second
// factor, is refused without the session's CSRF token and with a forged
// one, and changes nothing. The invite page, which has no session, refuses
// a post from another site by its Origin.
func TestEveryPostNeedsCSRF(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	st.addApp("wiki")
	nas, err := st.d.CreateBindAccount(context.Background(), "nas", []directory.Right{"read"}, "nas-password-long-enough")
	if err != nil {
		t.Fatal(err)
	}
	admin := st.client()
	if resp, _ := admin.signIn("/admin/", "admin"); resp.StatusCode != http.StatusOK {
		t.Fatalf("the admin's sign-in: %d", resp.StatusCode)
	}
	posts := 0
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		if method != "POST" {
			continue
		}
		posts++
		for _, token := range []string{"", "forged"} {
			form := changeForm()
			if token != "" {
				form.Set("csrf", token)
			}
			resp, body := admin.do(method, path, form)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Form expired") {
				t.Errorf("%s with CSRF token %q: %d, want 403 Form expired\n%.300s", route, token, resp.StatusCode, body)
			}
		}
	}
	if posts < 25 {
		t.Fatalf("only %d POST routes walked", posts)
	}
	st.unchanged(t)
	if now, err := st.d.BindAccount(context.Background(), "nas"); err != nil || !reflect.DeepEqual(now, nas) {
		t.Errorf("the bind account nas was changed or deleted: %+v, %v", now, err)
	}
	st.inviteRefusesOtherOrigin(t, admin)
}

// inviteRefusesOtherOrigin posts a new password to a fresh invite link
// with another site's Origin: it is refused and the link still works.
func (st *site) inviteRefusesOtherOrigin(t *testing.T, admin *client) {
	t.Helper()
	_, page := admin.submit("/admin/users/alice", "/admin/users/alice/invite", nil)
	i := strings.Index(page, st.srv.URL+"/invite/")
	if i < 0 {
		t.Fatalf("no invite link on the page:\n%.500s", page)
	}
	link := page[i:]
	link = link[:strings.IndexAny(link, `<"`)]
	form := url.Values{"new": {"a long new password"}, "confirm": {"a long new password"}}
	req, _ := http.NewRequest("POST", link, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := st.client().c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("an invite post from another site: %d, want 403", resp.StatusCode)
	}
	if resp, _ := st.client().get(link); resp.StatusCode != http.StatusOK {
		t.Errorf("the invite link after the refused post: %d, want it still open", resp.StatusCode)
	}
}

// Every console form that changes something is refused to an admin whose
// sign-in is older than the recent-sign-in window, valid CSRF token and
// all, with a way to sign in again, and changes nothing. (The device Test
// only reads, and is left out.)
func TestEveryChangeNeedsRecentSignIn(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	st.addApp("wiki")
	admin := st.client()
	admin.signIn("/admin/", "admin")
	st.clock.Advance(16 * time.Minute)
	_, page := admin.get("/admin/users/alice")
	token := csrfRE.FindStringSubmatch(page)[1]
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		if method != "POST" || strings.HasSuffix(path, "/test") {
			continue
		}
		form := changeForm()
		form.Set("csrf", token)
		resp, body := admin.do(method, path, form)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "/admin/sign-in-again") {
			t.Errorf("%s with a stale sign-in: %d, want 403 with a link to sign in again\n%.300s", route, resp.StatusCode, body)
		}
	}
	st.unchanged(t)
}
