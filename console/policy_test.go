package console_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/console"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/browser"
)

// TestPolicyMFAChange: the admin requires a second factor of the ops
// group in the console; it takes effect at once (alice, in ops, now needs
// one), is audited with the admin's name, and a group that does not exist
// is refused with the reason. Screenshots at desktop and phone widths.
func TestPolicyMFAChange(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	ctx := context.Background()
	alice, err := st.d.User(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.d.ChangeMembers(ctx, "ops", []directory.MemberRef{{Name: "alice"}}, nil); err != nil {
		t.Fatal(err)
	}
	admin := st.client()
	admin.signIn("/admin/policy", "admin")
	resp, body := admin.submit("/admin/policy", "/admin/policy/mfa", url.Values{"require": {"groups"}, "groups": {"ops, nosuch"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "there is no group") {
		t.Errorf("a policy naming a missing group: %d\n%.400s", resp.StatusCode, body)
	}
	if req, _ := st.d.MFARequired(ctx, alice.ID); req {
		t.Fatal("the refused policy took effect")
	}
	resp, _ = admin.submit("/admin/policy", "/admin/policy/mfa", url.Values{"require": {"groups"}, "groups": {"ops"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving the policy: %d", resp.StatusCode)
	}
	if req, err := st.d.MFARequired(ctx, alice.ID); !req || err != nil {
		t.Errorf("after the change alice needs no second factor (%v)", err)
	}
	events, err := st.d.AuditEvents(ctx, directory.AuditQuery{Kind: "admin", Subject: "settings"})
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, e := range events {
		if e.Actor == "admin" && e.Remote != "" && e.Service == "console" {
			details = append(details, e.Detail)
		}
	}
	if strings.Join(details, "; ") != "set mfa.groups ops; set mfa.require groups" {
		t.Errorf("the audit log holds %+v", events)
	}
	st.clock.Advance(30 * time.Second)
	b := tab{t, browser.New(t)}
	st.signInAdmin(b)
	b.do("the policy page", chromedp.Navigate(st.srv.URL+"/admin/policy"), chromedp.WaitVisible(chromedp.ID("mfa")))
	b.shot("policy")
	if text := b.text("#mfa"); !strings.Contains(text, "members of ops") {
		t.Errorf("the policy page says %q", text)
	}
}

// TestPolicyFromFile: when the configuration sets the MFA policy and
// ldap.anonymous the page shows them read-only and says where they are
// set, a POST changes neither, and the configuration-only settings are
// listed with their source.
func TestPolicyFromFile(t *testing.T) {
	opts := console.Options{Settings: []console.Setting{{Key: "samba.enabled", Value: "true", Source: "configuration", About: "Samba needs its SID when Atrium starts"}}}
	fixed := map[string]directory.FixedSetting{
		directory.KeyMFARequire: {Value: "all", Source: "the configuration file (mfa.require)"},
		directory.KeyAnonymous:  {Value: "base", Source: "the environment (ATRIUM_LDAP_ANONYMOUS)"},
	}
	st := newSiteOn(t, directory.Options{Fixed: fixed}, true, nil, opts)
	admin := st.client()
	admin.signIn("/admin/policy", "admin")
	_, page := admin.get("/admin/policy")
	for _, want := range []string{`id="mfa-fixed"`, "the configuration file (mfa.require)", "every user", "samba.enabled", "Samba needs its SID when Atrium starts",
		"set in the environment (ATRIUM_LDAP_ANONYMOUS): read-only", `name="ldap.user_read"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the policy page lacks %q", want)
		}
	}
	for _, unwanted := range []string{`action="/admin/policy/mfa"`, `name="ldap.anonymous"`} {
		if strings.Contains(page, unwanted) {
			t.Errorf("the policy page offers to change a setting the configuration sets: %s", unwanted)
		}
	}
	resp, _ := admin.submit("/admin/groups/new", "/admin/policy/mfa", url.Values{"require": {"none"}})
	if resp.StatusCode != http.StatusConflict || !st.d.MFAPolicy().All {
		t.Errorf("a POST to the file's MFA policy: %d, policy now %+v", resp.StatusCode, st.d.MFAPolicy())
	}
	admin.submit("/admin/policy", "/admin/policy/settings", url.Values{"ldap.anonymous": {"tree"}, "ldap.user_read": {"self"}})
	if s := st.d.Settings(); s.Anonymous != "base" || s.UserRead != "self" {
		t.Errorf("after a POST of both: ldap.anonymous %s (want the file's base), ldap.user_read %s (want self)", s.Anonymous, s.UserRead)
	}
	st.clock.Advance(30 * time.Second)
	b := tab{t, browser.New(t)}
	st.signInAdmin(b)
	b.do("the policy page", chromedp.Navigate(st.srv.URL+"/admin/policy"), chromedp.WaitVisible(chromedp.ID("mfa-fixed")))
	b.shot("policy-from-file")
}

// TestPolicySettingsInBrowser: the admin raises the minimum password
// length and lets anonymous clients read the base entry in the console,
// in Chromium; both apply at once, and alice's self-service page then
// refuses a password shorter than the new minimum. A bad value is
// refused with its reason and changes nothing.
func TestPolicySettingsInBrowser(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	b := tab{t, browser.New(t)}
	st.signInAdmin(b)
	b.do("change the settings",
		chromedp.Navigate(st.srv.URL+"/admin/policy"),
		chromedp.WaitVisible(chromedp.ID("runtime")),
		chromedp.SetValue(chromedp.CSS(`select[name="ldap.anonymous"]`), "base"),
		chromedp.SetValue(chromedp.CSS(`input[name="password.min_length"]`), "14"),
		chromedp.Click(chromedp.CSS(`#runtime button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if text := b.text("main"); !strings.Contains(text, "they apply now") || !strings.Contains(text, "At least 14 characters") {
		t.Errorf("after saving the page says %.600q", text)
	}
	b.shot("policy-settings")
	if s := st.d.Settings(); s.Anonymous != "base" || s.MinPasswordLength != 14 {
		t.Errorf("the settings after the change: %+v", s)
	}
	b.do("a bad value",
		chromedp.SetValue(chromedp.CSS(`input[name="web.session_idle"]`), "5s"),
		chromedp.Click(chromedp.CSS(`#runtime button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error`)),
	)
	if text := b.text("p.error"); !strings.Contains(text, "web.session_idle") || !strings.Contains(text, "from 1m to 168h") || st.d.Settings().SessionIdle != 30*time.Minute {
		t.Errorf("a session_idle of 5s: %.400q, now %s", text, st.d.Settings().SessionIdle)
	}

	alice := st.client()
	alice.signIn("/", "alice")
	resp, body := alice.submit("/", "/account/password", url.Values{"current": {"alice-password"}, "new": {"violet teapot"}, "confirm": {"violet teapot"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "at least 14 characters") {
		t.Errorf("a 13-character password on the self-service page: %d\n%.400s", resp.StatusCode, body)
	}
}

// Session lifetimes and the invite lifetime are read when they are used:
// a shortened web.session_idle signs alice out at her next request, and
// an invite made after web.invite_ttl changed lasts the new time.
func TestLifetimesApplyAtOnce(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	ctx := context.Background()
	alice := st.client()
	if resp, _ := alice.signIn("/", "alice"); resp.StatusCode != http.StatusOK {
		t.Fatalf("alice's sign-in: %d", resp.StatusCode)
	}
	st.clock.Advance(12 * time.Minute)
	by := directory.Changer{Actor: "admin", Service: "console"}
	if err := st.d.SetSettings(ctx, map[string]string{directory.KeySessionIdle: "10m", directory.KeyInviteTTL: "2h"}, by); err != nil {
		t.Fatal(err)
	}
	if resp, _ := alice.get("/"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Errorf("alice, idle for 12 minutes under a 10-minute limit: %d to %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	admin := st.client()
	admin.signIn("/admin/users/new", "admin")
	_, page := admin.submit("/admin/users/new", "/admin/users", url.Values{"uid": {"dave"}, "mail": {"dave@example.com"}})
	if want := st.clock.Now().Add(2 * time.Hour).UTC().Format("2 Jan 2006 15:04 MST"); !strings.Contains(page, "until "+want) {
		t.Errorf("the invite does not last 2h (until %s):\n%.600s", want, page)
	}
}

// A settings change needs a recent sign-in, as every console change does.
func TestSettingsNeedRecentSignIn(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := st.client()
	admin.signIn("/admin/policy", "admin")
	st.clock.Advance(16 * time.Minute)
	resp, body := admin.submit("/admin/policy", "/admin/policy/settings", url.Values{"ldap.anonymous": {"tree"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Sign in again") || st.d.Settings().Anonymous != "none" {
		t.Errorf("a stale sign-in changing ldap.anonymous: %d, now %s\n%.300s", resp.StatusCode, st.d.Settings().Anonymous, body)
	}
}

// Every run-time setting the policy page lists is saved from it: after
// one post the LDAP app-password-only groups, user read scope, session
// lifetimes and recent-sign-in window are the new values, the page shows
// them, and alice (in ops) can no longer bind over LDAP with her password
// but can with an app password.
func TestPolicyEverySetting(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	ctx := context.Background()
	if _, err := st.d.ChangeMembers(ctx, "ops", []directory.MemberRef{{Name: "alice"}}, nil); err != nil {
		t.Fatal(err)
	}
	admin := st.client()
	admin.signIn("/admin/", "admin")
	form := url.Values{"ldap.app_password_only_groups": {"ops"}, "ldap.user_read": {"self"}, "web.session_idle": {"20m"},
		"web.session_max": {"8h"}, "web.recent_sign_in": {"10m"}, "web.invite_ttl": {"48h"}}
	if resp, body := admin.submit("/admin/policy", "/admin/policy/settings", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("saving: %d\n%.600s", resp.StatusCode, body)
	}
	s := st.d.Settings()
	if !slices.Equal(s.AppPasswordOnlyGroups, []string{"ops"}) || s.UserRead != "self" || s.SessionIdle != 20*time.Minute ||
		s.SessionMax != 8*time.Hour || s.RecentSignIn != 10*time.Minute || s.InviteTTL != 48*time.Hour {
		t.Errorf("the settings after saving: %+v", s)
	}
	_, page := admin.get("/admin/policy")
	for _, want := range []string{`name="ldap.app_password_only_groups" value="ops"`, `<option selected>self</option>`, `value="20m"`, `value="8h"`, `value="10m"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the policy page does not show %s", want)
		}
	}
	login := directory.Login{Kind: directory.KindUser, Name: "alice", Password: "alice-password", Remote: "192.0.2.9", Service: "ldap", AppPasswords: true}
	if _, err := st.d.Authenticate(ctx, login); err == nil {
		t.Error("alice, in an app-password-only group, binds over LDAP with her password")
	}
	pw, err := st.d.AddAppPassword(ctx, "alice", "NAS")
	if err != nil {
		t.Fatal(err)
	}
	login.Password = pw
	if _, err := st.d.Authenticate(ctx, login); err != nil {
		t.Errorf("alice's app password: %v", err)
	}
}
