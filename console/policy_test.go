package console_test

import (
	"context"
	"net/http"
	"net/url"
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
	events, err := st.d.AuditEvents(ctx, directory.AuditQuery{Kind: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(events); n == 0 || events[n-1].Actor != "admin" || events[n-1].Detail != "mfa require groups ops" {
		t.Errorf("the audit log ends with %+v", events)
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

// TestPolicyFromFile: when the configuration sets the MFA policy the page
// shows it read-only and says where it is set, a POST changes nothing, and
// the configuration's settings are listed with their source.
func TestPolicyFromFile(t *testing.T) {
	opts := console.Options{MFAFixed: "the configuration file (mfa.require)",
		Settings: []console.Setting{{Key: "ldap.anonymous", Value: "base", Source: "configuration", About: "what a client sees before it binds"}}}
	st := newSiteWith(t, directory.MFAPolicy{All: true}, true, nil, opts)
	admin := st.client()
	admin.signIn("/admin/policy", "admin")
	_, page := admin.get("/admin/policy")
	for _, want := range []string{`id="mfa-fixed"`, "the configuration file (mfa.require)", "every user", "ldap.anonymous", "what a client sees before it binds"} {
		if !strings.Contains(page, want) {
			t.Errorf("the policy page lacks %q", want)
		}
	}
	if strings.Contains(page, `action="/admin/policy/mfa"`) {
		t.Error("the policy page offers to change an MFA policy the file sets")
	}
	resp, _ := admin.submit("/admin/groups/new", "/admin/policy/mfa", url.Values{"require": {"none"}})
	if resp.StatusCode != http.StatusConflict || !st.d.MFAPolicy().All {
		t.Errorf("a POST to the file's MFA policy: %d, policy now %+v", resp.StatusCode, st.d.MFAPolicy())
	}
	st.clock.Advance(30 * time.Second)
	b := tab{t, browser.New(t)}
	st.signInAdmin(b)
	b.do("the policy page", chromedp.Navigate(st.srv.URL+"/admin/policy"), chromedp.WaitVisible(chromedp.ID("mfa-fixed")))
	b.shot("policy-from-file")
}
