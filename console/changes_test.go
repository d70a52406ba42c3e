package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// change is one console form an admin submits: from the page at from, to
// path, and the audit event it must leave (subject, and the detail's
// start).
type change struct {
	from, path string
	form       url.Values
	subject    string
	detail     string
}

var sessionIDRE = regexp.MustCompile(`name="id" value="([^"]+)"`)

// TestEveryChangeAudited: every form the console has (each POST pattern
// of routes.go is reached) leaves audit events naming the acting admin,
// their address and the console, with what changed.
func TestEveryChangeAudited(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	st.addApp("wiki")
	ctx := context.Background()
	if _, err := st.d.AddAppPassword(ctx, "alice", "NAS"); err != nil {
		t.Fatal(err)
	}
	st.client().signIn("/", "alice")
	admin := st.client()
	admin.signIn("/admin/", "admin")
	_, sessions := admin.get("/admin/sessions")
	id := sessionIDRE.FindStringSubmatch(sessions)
	if id == nil {
		t.Fatal("alice's session is not listed")
	}
	changes := everyChange(id[1])
	mux := postPatterns(t)
	reached := map[string]bool{}
	for _, c := range changes {
		req, _ := http.NewRequest("POST", "http://atrium.test"+c.path, nil)
		_, p := mux.Handler(req)
		reached[p] = true
		st.clock.Advance(time.Second)
		since := st.clock.Now()
		resp, body := admin.submit(c.from, c.path, c.form)
		if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d\n%.500s", c.path, resp.StatusCode, body)
		}
		found := false
		for _, e := range adminEvents(t, st.d) {
			if e.Time.Before(since) {
				continue
			}
			if e.Actor != "admin" || e.Remote != "127.0.0.1" || e.Service != "console" {
				t.Errorf("%s: %q of %s audited by %q from %q through %q; want admin from 127.0.0.1 through console", c.path, e.Detail, e.Subject, e.Actor, e.Remote, e.Service)
			}
			found = found || e.Subject == c.subject && strings.HasPrefix(e.Detail, c.detail)
		}
		if !found {
			t.Errorf("%s left no audit event %q… of %s", c.path, c.detail, c.subject)
		}
	}
	for _, p := range mux.patterns {
		if !reached[p] {
			t.Errorf("no change of the test posts to %q", p)
		}
	}
}

// everyChange is a form for each thing an admin changes in the console,
// in an order where each finds what it needs; session is alice's.
func everyChange(session string) []change {
	return []change{
		{"/admin/users/new", "/admin/users", url.Values{"uid": {"bob"}, "mail": {"bob@example.com"}}, "bob", "user add"},
		{"/admin/users/bob", "/admin/users/bob", url.Values{"mail": {"robert@example.com"}, "name": {"Robert"}}, "bob", "user edit"},
		{"/admin/users/bob", "/admin/users/bob/disable", nil, "bob", "user disable"},
		{"/admin/users/bob", "/admin/users/bob/rename", url.Values{"new": {"rob"}}, "bob", "user rename to rob"},
		{"/admin/users/rob/delete", "/admin/users/rob/delete", url.Values{"confirm": {"rob"}}, "rob", "user delete"},
		{"/admin/groups/new", "/admin/groups", url.Values{"cn": {"dev"}}, "dev", "group add"},
		{"/admin/groups/dev", "/admin/groups/dev", url.Values{"description": {"Developers"}}, "dev", "group edit"},
		{"/admin/groups/dev", "/admin/groups/dev/members", url.Values{"member": {"alice"}}, "dev", "group add-member alice"},
		{"/admin/groups/dev", "/admin/groups/dev/members/remove", url.Values{"member": {"alice"}}, "dev", "group remove-member alice"},
		{"/admin/groups/dev/delete", "/admin/groups/dev/delete", url.Values{"confirm": {"dev"}}, "dev", "group delete"},
		{"/admin/bind-accounts", "/admin/bind-accounts", url.Values{"name": {"nas"}, "rights": {"read"}}, "nas", "bind-account add"},
		{"/admin/bind-accounts", "/admin/bind-accounts/nas/rotate", nil, "nas", "bind-account rotate"},
		{"/admin/bind-accounts", "/admin/bind-accounts/nas/delete", url.Values{"confirm": {"nas"}}, "nas", "bind-account delete"},
		{"/admin/apps/new", "/admin/apps", url.Values{"name": {"crm"}, "preset": {"generic"}, "entity_id": {"https://crm.example.com/sp"},
			"acs": {"https://crm.example.com/acs"}, "nameid": {"email"}}, "crm", "app add"},
		{"/admin/apps/crm", "/admin/apps/crm", url.Values{"nameid": {"persistent"}, "groups": {"ops"}}, "crm", "app edit"},
		{"/admin/apps", "/admin/saml/rotate", url.Values{"step": {"stage"}}, "saml", "saml rotate-cert stage"},
		{"/admin/apps/crm", "/admin/apps/crm/use-next-cert", nil, "crm", "saml rotate-cert --app"},
		{"/admin/apps/crm/delete", "/admin/apps/crm/delete", url.Values{"confirm": {"crm"}}, "crm", "app delete"},
		{"/admin/apps/new-oidc", "/admin/apps/oidc", url.Values{"name": {"grafana"}, "preset": {"grafana"}, "app_url": {"https://grafana.example"}}, "grafana", "app add --oidc"},
		{"/admin/apps/grafana", "/admin/apps/grafana/oidc", url.Values{"redirect_uris": {"https://grafana.example/cb"}}, "grafana", "app edit --oidc"},
		{"/admin/apps/grafana", "/admin/apps/grafana/rotate-secret", nil, "grafana", "app rotate-secret"},
		{"/admin/devices/nslcd", "/admin/devices/nslcd/bind-account", nil, "nslcd", "bind-account add for nslcd"},
		{"/admin/devices/nslcd", "/admin/devices/nslcd/test", url.Values{"user": {"alice"}}, "nslcd", "device test as alice"},
		{"/admin/policy", "/admin/policy/mfa", url.Values{"require": {"groups"}, "groups": {"ops"}}, "settings", "set mfa."},
		{"/admin/policy", "/admin/policy/settings", url.Values{"ldap.anonymous": {"base"}}, "settings", "set ldap.anonymous base"},
		{"/admin/sessions", "/admin/sessions/end", url.Values{"id": {session}}, "alice", "session end"},
	}
}

// patternMux is a mux of the console's POST patterns, to tell which one
// a path reaches.
type patternMux struct {
	*http.ServeMux
	patterns []string
}

func postPatterns(t *testing.T) patternMux {
	t.Helper()
	m := patternMux{ServeMux: http.NewServeMux()}
	for _, p := range consolePatterns(t) {
		if strings.HasPrefix(p, "POST ") {
			m.HandleFunc(p, func(http.ResponseWriter, *http.Request) {})
			m.patterns = append(m.patterns, p)
		}
	}
	return m
}

// adminEvents are the admin changes in the audit log.
func adminEvents(t *testing.T, d *directory.Directory) []directory.AuditEvent {
	t.Helper()
	events, err := d.AuditEvents(context.Background(), directory.AuditQuery{Kind: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	return events
}
