package console_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// Every change an admin makes in the console appears in the audit log
// with the admin's name and address: on the audit page, in the CSV and
// JSON exports, and when filtered by user and front end.
func TestChangesAudited(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	if _, err := st.d.AddAppPassword(context.Background(), "alice", "NAS"); err != nil {
		t.Fatal(err)
	}
	admin := st.client()
	admin.signIn("/admin/", "admin")
	changes := []struct {
		from, path string
		form       url.Values
		subject    string
		detail     string
	}{
		{"/admin/users/new", "/admin/users", url.Values{"uid": {"bob"}, "mail": {"bob@example.com"}}, "bob", "user add"},
		{"/admin/users/bob", "/admin/users/bob", url.Values{"mail": {"robert@example.com"}, "name": {"Robert"}, "shell": {"/bin/zsh"}, "ssh": {"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKb bob@laptop"}}, "bob", "user edit"},
		{"/admin/users/bob", "/admin/users/bob/disable", nil, "bob", "user disable"},
		{"/admin/users/bob", "/admin/users/bob/enable", nil, "bob", "user enable"},
		{"/admin/users/bob", "/admin/users/bob/invite", nil, "bob", "invite (password reset)"},
		{"/admin/users/alice", "/admin/users/alice/reset-mfa", nil, "alice", "user reset-mfa"},
		{"/admin/users/alice", "/admin/users/alice/sign-out", nil, "alice", "user sign-out"},
		{"/admin/users/alice", "/admin/users/alice/revoke-app-password", url.Values{"name": {"NAS"}}, "alice", "user revoke-app-password"},
		{"/admin/users/bob", "/admin/users/bob/rename", url.Values{"new": {"rob"}}, "bob", "user rename to rob"},
		{"/admin/users/rob", "/admin/users/rob/rename", url.Values{"new": {"bob"}}, "rob", "user rename to bob"},
		{"/admin/groups/new", "/admin/groups", url.Values{"cn": {"dev"}}, "dev", "group add"},
		{"/admin/groups/dev", "/admin/groups/dev", url.Values{"description": {"Developers"}}, "dev", "group edit"},
		{"/admin/groups/dev", "/admin/groups/dev/members", url.Values{"member": {"bob"}}, "dev", "group add-member bob"},
		{"/admin/groups/dev", "/admin/groups/dev/members", url.Values{"member": {"group:ops"}}, "dev", "group add-member group:ops"},
		{"/admin/groups/dev", "/admin/groups/dev/members/remove", url.Values{"member": {"bob"}}, "dev", "group remove-member bob"},
		{"/admin/groups/dev/delete", "/admin/groups/dev/delete", url.Values{"confirm": {"dev"}}, "dev", "group delete"},
		{"/admin/users/bob/delete", "/admin/users/bob/delete", url.Values{"confirm": {"bob"}}, "bob", "user delete"},
	}
	for _, c := range changes {
		resp, body := admin.submit(c.from, c.path, c.form)
		if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d\n%.400s", c.detail, resp.StatusCode, body)
		}
	}
	ctx := context.Background()
	if _, err := st.d.User(ctx, "bob"); err == nil {
		t.Error("bob is still there after the delete")
	}
	if aps, _ := st.d.AppPasswords(ctx, "alice"); len(aps) != 0 {
		t.Errorf("alice still has app passwords after the revoke: %v", aps)
	}
	if fs, _ := st.d.Factors(ctx, mustUser(t, st.d, "alice").ID); len(fs) != 0 {
		t.Errorf("alice still has factors after the MFA reset: %v", fs)
	}

	_, page := admin.get("/admin/audit?service=console")
	resp, raw := admin.get("/admin/audit?service=console&format=json")
	var events []directory.AuditEvent
	if err := json.Unmarshal([]byte(raw), &events); err != nil || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("JSON export: %v\n%.300s", err, raw)
	}
	_, rawCSV := admin.get("/admin/audit?service=console&format=csv")
	rows, err := csv.NewReader(strings.NewReader(rawCSV)).ReadAll()
	if err != nil || len(rows) != len(events)+1 {
		t.Fatalf("CSV export: %d rows, %v; JSON has %d events", len(rows), err, len(events))
	}
	for _, c := range changes {
		i := slices.IndexFunc(events, func(e directory.AuditEvent) bool { return e.Detail == c.detail && e.Subject == c.subject })
		if i < 0 {
			t.Errorf("no audit event %q of %s", c.detail, c.subject)
			continue
		}
		if e := events[i]; e.Actor != "admin" || e.Remote != "127.0.0.1" || e.Kind != "admin" {
			t.Errorf("audit event %q: by %q from %q, kind %q; want admin from 127.0.0.1", c.detail, e.Actor, e.Remote, e.Kind)
		}
		if !slices.ContainsFunc(rows, func(r []string) bool { return r[3] == "admin" && r[7] == c.detail }) {
			t.Errorf("the CSV has no row %q by admin", c.detail)
		}
		if !strings.Contains(page, "<td>"+c.subject+"</td><td>admin</td><td>127.0.0.1</td>") {
			t.Errorf("the audit page shows no %q of %s by admin from 127.0.0.1", c.detail, c.subject)
		}
	}
	if _, only := admin.get("/admin/audit?format=json&user=alice&service=console"); strings.Contains(only, `"bob"`) {
		t.Error("filtering by user alice shows bob's events")
	}
	if _, web := admin.get("/admin/audit?format=json&service=web&result=ok"); strings.Contains(web, `"console"`) {
		t.Error("filtering by the web front end shows console events")
	}
}

func mustUser(t *testing.T, d *directory.Directory, uid string) directory.User {
	t.Helper()
	u, err := d.User(context.Background(), uid)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Names that hold markup are shown as text on every console page where
// names appear (the overview's failed sign-ins, the users, a user, the
// groups, a group, the sessions, the audit log), and in the JSON the
// scripts read.
func TestMarkupNamesAreText(t *testing.T) {
	const evil = "<script>alert(1)</script>"
	const escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
	st := newSite(t, directory.MFAPolicy{}, true)
	ctx := context.Background()
	if _, err := st.d.CreateUser(ctx, directory.User{UID: "mallory", Mail: "mallory@example.com", DisplayName: evil, GivenName: evil, Surname: evil, HomeDirectory: "/home/mallory", LoginShell: "/bin/sh", SSHKeys: []string{evil}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.d.CreateGroup(ctx, directory.Group{CN: "evil", Description: evil}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.d.ChangeMembers(ctx, "ops", []directory.MemberRef{{Name: "mallory"}, {Name: "evil", Group: true}}, nil); err != nil {
		t.Fatal(err)
	}
	// mallory is signed in (the sessions page names her), and someone
	// typed the markup as a name at the sign-in (the overview's failed
	// sign-ins and the audit log show what was typed).
	if err := st.d.SetPassword(ctx, "mallory", "mallory-password"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := st.client().signIn("/", "mallory"); resp.Request.URL.Path != "/" {
		t.Fatalf("mallory's sign-in ended at %s", resp.Request.URL)
	}
	st.client().signIn("/", evil)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	_, invite := admin.submit("/admin/users/mallory", "/admin/users/mallory/invite", nil)
	pages := map[string]string{"invite link": invite}
	for _, path := range []string{"/admin/", "/admin/users", "/admin/users?q=mal", "/admin/users/mallory", "/admin/users/mallory/delete",
		"/admin/groups", "/admin/groups/ops", "/admin/groups/evil", "/admin/sessions", "/admin/audit?service=web"} {
		resp, body := admin.get(path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		pages[path] = body
	}
	for name, body := range pages {
		if strings.Contains(body, evil) {
			t.Errorf("%s holds the name as markup", name)
		}
		if !strings.Contains(body, escaped) {
			t.Errorf("%s does not show the name as text", name)
		}
	}
	for _, path := range []string{"/admin/users?format=json&q=mal", "/admin/members?q=mal"} {
		if _, body := admin.get(path); strings.Contains(body, evil) || !strings.Contains(body, `\u003cscript\u003e`) {
			t.Errorf("%s: the JSON holds the name unescaped:\n%s", path, body)
		}
	}
}

// The audit page pages back through every event once, even when many
// share one instant.
func TestAuditPaging(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	for i := range 250 {
		st.d.Audit(directory.AuditEvent{Kind: "login", Subject: fmt.Sprintf("user%03d", i), Service: "ldap", Result: directory.ResultOK})
	}
	admin := st.client()
	admin.signIn("/admin/", "admin")
	seen := map[string]int{}
	next := "/admin/audit?service=ldap"
	for pages := 0; next != "" && pages < 10; pages++ {
		_, body := admin.get(next)
		for _, m := range subjectRE.FindAllStringSubmatch(body, -1) {
			seen[m[1]]++
		}
		next = ""
		if m := nextRE.FindStringSubmatch(body); m != nil {
			next = html.UnescapeString(m[1])
		}
	}
	if len(seen) != 250 {
		t.Errorf("paging showed %d distinct events, want 250", len(seen))
	}
	for s, n := range seen {
		if n != 1 {
			t.Errorf("%s shown %d times", s, n)
		}
	}
}

var (
	subjectRE = regexp.MustCompile(`<td>(user\d{3})</td>`)
	nextRE    = regexp.MustCompile(`<a href="([^"]+)">Older events</a>`)
)

// The audit log filters by app (its SAML or OIDC sign-ins, and no other
// app whose name it starts), by the OIDC front end and by time, on the
// page and in its exports.
func TestAuditFilters(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	start := st.clock.Now()
	for _, e := range []directory.AuditEvent{
		{Kind: "login", Subject: "alice", Service: "web", Result: directory.ResultOK},
		{Kind: "assertion", Subject: "alice", Service: "saml:wiki", Result: directory.ResultOK},
		{Kind: "assertion", Subject: "alice", Service: "saml:wikipedia", Result: directory.ResultOK},
		{Kind: "token", Subject: "alice", Service: "oidc:grafana", Result: directory.ResultOK},
		{Kind: "assertion", Subject: "alice", Service: "saml:wiki", Result: "denied"},
	} {
		st.clock.Advance(time.Hour)
		st.d.Audit(e)
	}
	admin := st.client()
	admin.signIn("/admin/", "admin")
	at := func(h time.Duration) string {
		return start.Add(h*time.Hour + 30*time.Minute).UTC().Format("2006-01-02T15:04")
	}
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"app=wiki", []string{"saml:wiki ok", "saml:wiki denied"}},
		{"app=grafana", []string{"oidc:grafana ok"}},
		{"service=oidc%3A", []string{"oidc:grafana ok"}},
		{"app=wiki&result=denied", []string{"saml:wiki denied"}},
		{"since=" + at(1) + "&until=" + at(3), []string{"saml:wiki ok", "saml:wikipedia ok"}},
	} {
		_, raw := admin.get("/admin/audit?format=json&user=alice&" + c.query)
		var events []directory.AuditEvent
		if err := json.Unmarshal([]byte(raw), &events); err != nil {
			t.Fatalf("%s: %v\n%.300s", c.query, err, raw)
		}
		var got []string
		for _, e := range events {
			got = append(got, e.Service+" "+e.Result)
		}
		slices.Sort(got)
		slices.Sort(c.want)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.query, got, c.want)
		}
	}
	_, page := admin.get("/admin/audit?app=wiki")
	if !strings.Contains(page, `id="app" name="app" value="wiki"`) || !strings.Contains(page, "app=wiki&amp;format=csv") || strings.Contains(page, "saml:wikipedia") {
		t.Errorf("the page filtered to wiki does not keep the filter in the form and exports, or shows wikipedia:\n%s", page)
	}
}

// A name typed at a sign-in that a spreadsheet would read as a formula is
// exported in the CSV as text.
func TestAuditCSVFormulaAsText(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	const formula = `=HYPERLINK("https://evil.example","x")`
	st.client().signIn("/", formula)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	_, raw := admin.get("/admin/audit?format=csv&service=web")
	rows, err := csv.NewReader(strings.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range rows {
		if strings.Contains(r[2], "HYPERLINK") {
			found = true
			if r[2] != "'"+formula {
				t.Errorf("the CSV holds the typed name as %q", r[2])
			}
		}
	}
	if !found {
		t.Errorf("the failed sign-in is not in the CSV:\n%s", raw)
	}
}
