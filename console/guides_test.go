package console_test

import (
	"html"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/clients"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/testenv"
	"github.com/atrium-dir/atrium/ldapserver"
)

var (
	requestRowRE = regexp.MustCompile(`(?s)<tr><td>([^<]*)<br>.*?<ul class="dns">(.*?)</ul></td></tr>`)
	entryRE      = regexp.MustCompile(`<li><code>([^<]*)</code></li>`)
	anyDNRE      = regexp.MustCompile(`(?m)^dn: ?(.*)$`)
)

// TestEveryDeviceGuide: each of the twelve device guides shows this
// server's address and base DN and the values of its screens, makes its
// bind account on the spot, and its Test, run for the admin (in ops) with
// their password, passes on a directory of two users; every request the
// Test sent through the LDAP front end shows the entries the real
// ldapsearch finds with the same bind, base, scope and filter.
func TestEveryDeviceGuide(t *testing.T) {
	ldapsearch := testenv.Tool(t, "ldapsearch", "ldap-utils")
	// The server is set up as the guides ask: Samba on with the NAS's
	// NetBIOS name, the base entry readable anonymously (Synology's
	// schema check). The Test looks up the admin (in admins, as Gitea's
	// and Jellyfin's admin checks want, and not its only member), in ops,
	// with a given name, a surname and an SSH key. The directory holds two
	// users, fewer than the guides' own test directory.
	dopt := directory.Options{Samba: true, Settings: directory.Settings{Anonymous: "base"}}
	st := newLDAPSiteOn(t, nil, dopt, &ldapserver.SambaDomain{Name: "EXAMPLE", SID: "S-1-5-21-1-2-3", NetBIOSNames: []string{"DISKSTATION"}})
	ctx := t.Context()
	named := func(u *directory.User) error {
		u.GivenName, u.Surname, u.SSHKeys = "Ada", "Admin", []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKb admin@laptop"}
		return nil
	}
	if _, err := st.d.UpdateUser(ctx, "admin", named); err != nil {
		t.Fatal(err)
	}
	if _, err := st.d.ChangeMembers(ctx, "ops", []directory.MemberRef{{Name: "admin"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := st.d.ChangeMembers(ctx, "admins", []directory.MemberRef{{Name: "alice"}}, nil); err != nil {
		t.Fatal(err)
	}
	admin := st.client()
	admin.signIn("/admin/", "admin")
	_, list := admin.get("/admin/devices")
	shown, err := clients.ServerSettings(testBaseDN, st.server.LDAPAddr, st.server.LDAPSAddr, st.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := shown
	s.User, s.Group = "admin", "ops"
	passwords := map[string]string{} // bind account: password
	guides := 0
	for _, name := range clients.Names() {
		g, err := clients.Guide(name, s)
		if err != nil {
			t.Fatal(err)
		}
		if g.Kind != "ldap" {
			continue
		}
		guides++
		if !strings.Contains(list, `href="/admin/devices/`+name+`"`) {
			t.Errorf("the devices page has no link to %s", name)
		}
		t.Run(name, func(t *testing.T) {
			st.checkGuidePage(t, admin, name, shown)
			pw := st.guideAccount(t, admin, g, passwords)
			st.checkGuideTest(t, admin, ldapsearch, g, pw)
		})
	}
	if guides != 12 {
		t.Errorf("%d device guides, want 12", guides)
	}
}

// checkGuidePage checks the guide's page shows the server's values (for
// the example user and group the console picks).
func (st *ldapSite) checkGuidePage(t *testing.T, admin *client, name string, s clients.Settings) {
	t.Helper()
	g, err := clients.Guide(name, s)
	if err != nil {
		t.Fatal(err)
	}
	resp, page := admin.get("/admin/devices/" + name)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the guide: %d", resp.StatusCode)
	}
	page = html.UnescapeString(page)
	want := []string{g.URI, testBaseDN, g.BindDN}
	for _, sc := range g.Screens {
		for _, f := range sc.Fields {
			want = append(want, f.Value)
		}
	}
	for _, v := range want {
		if !strings.Contains(page, v) {
			t.Errorf("the guide does not show %q", v)
		}
	}
}

// guideAccount creates the guide's bind account on its page and returns
// its password (the one made earlier for an account guides share).
func (st *ldapSite) guideAccount(t *testing.T, admin *client, g clients.Rendered, passwords map[string]string) string {
	t.Helper()
	name := g.Needs.BindAccount
	if name == "" || passwords[name] != "" {
		return passwords[name]
	}
	_, page := admin.submit("/admin/devices/"+g.Name, "/admin/devices/"+g.Name+"/bind-account", nil)
	m := bindPasswordRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no bind account password shown:\n%.600s", page)
	}
	passwords[name] = html.UnescapeString(m[1])
	return passwords[name]
}

// checkGuideTest runs the guide's Test and compares each request's
// entries with ldapsearch's.
func (st *ldapSite) checkGuideTest(t *testing.T, admin *client, ldapsearch string, g clients.Rendered, pw string) {
	t.Helper()
	form := url.Values{"user": {"admin"}, "group": {"ops"}, "bind_password": {pw}, "user_password": {"admin-password"}}
	resp, page := admin.submit("/admin/devices/"+g.Name, "/admin/devices/"+g.Name+"/test", form)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Every request got what the client needs.") {
		t.Fatalf("the Test: %d\n%s", resp.StatusCode, page[max(0, strings.Index(page, `id="test"`)):])
	}
	rows := requestRowRE.FindAllStringSubmatch(page[strings.Index(page, `id="requests"`):], -1)
	if len(rows) != len(g.Searches) {
		t.Fatalf("the Test shows %d requests, the guide has %d", len(rows), len(g.Searches))
	}
	for i, q := range g.Searches {
		if name := html.UnescapeString(rows[i][1]); name != q.Name {
			t.Fatalf("request %d is %q, want %q", i, name, q.Name)
		}
		var shown []string
		for _, m := range entryRE.FindAllStringSubmatch(rows[i][2], -1) {
			shown = append(shown, html.UnescapeString(m[1]))
		}
		if q.Filter == "" {
			continue
		}
		want := st.ldapsearchDNs(t, ldapsearch, g, q, pw)
		slices.Sort(shown)
		if !slices.Equal(shown, want) {
			t.Errorf("%s: the Test shows %q, ldapsearch finds %q", q.Name, shown, want)
		}
	}
}

// ldapsearchDNs runs q with ldapsearch over LDAPS, bound as the guide's
// request binds, and returns the DNs found, sorted.
func (st *ldapSite) ldapsearchDNs(t *testing.T, ldapsearch string, g clients.Rendered, q clients.Search, pw string) []string {
	t.Helper()
	args := []string{"-LLL", "-o", "ldif-wrap=no", "-x", "-H", "ldaps://" + st.server.LDAPSAddr}
	switch q.Bind {
	case clients.BindService:
		args = append(args, "-D", g.BindDN, "-w", pw)
	case clients.BindUser:
		args = append(args, "-D", g.UserDN, "-w", "admin-password")
	}
	args = append(args, "-b", q.Base, "-s", q.Scope, q.Filter, "1.1")
	cmd := exec.Command(ldapsearch, args...)
	cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+st.caFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("ldapsearch %q: %v\n%s", args, err, out)
	}
	var dns []string
	for _, m := range anyDNRE.FindAllStringSubmatch(string(out), -1) {
		dns = append(dns, m[1])
	}
	slices.Sort(dns)
	return dns
}

// TestDeviceTestForAnOrdinaryUser: a guide's Test for a user of the app's
// group who is not in admins, and has no given name, surname or SSH key,
// passes, as the app would serve them (as an ordinary user), and shows
// each membership check's outcome instead of failing on it; for the
// admin, the same checks show a match.
func TestDeviceTestForAnOrdinaryUser(t *testing.T) {
	st := newLDAPSiteOn(t, nil, directory.Options{}, nil)
	st.addUser("bob", "Bob Builder", false) // no given name, surname or SSH key
	if _, err := st.d.ChangeMembers(t.Context(), "ops", []directory.MemberRef{{Name: "bob"}, {Name: "admin"}}, nil); err != nil {
		t.Fatal(err)
	}
	admin := st.client()
	admin.signIn("/admin/", "admin")
	s, err := clients.ServerSettings(testBaseDN, st.server.LDAPAddr, st.server.LDAPSAddr, st.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	passwords := map[string]string{}
	for _, name := range []string{"gitea", "grafana", "jellyfin"} {
		g, err := clients.Guide(name, s)
		if err != nil {
			t.Fatal(err)
		}
		pw := st.guideAccount(t, admin, g, passwords)
		for _, who := range []struct{ uid, match string }{{"bob", "the user does not match"}, {"admin", "the user matches"}} {
			form := url.Values{"user": {who.uid}, "group": {"ops"}, "bind_password": {pw}, "user_password": {who.uid + "-password"}}
			_, page := admin.submit("/admin/devices/"+name, "/admin/devices/"+name+"/test", form)
			page = page[max(0, strings.Index(page, `id="test-result"`)):]
			if !strings.Contains(page, "Every request got what the client needs.") {
				t.Errorf("%s, Test for %s:\n%s", name, who.uid, page)
				continue
			}
			if name != "grafana" && !strings.Contains(page, "(membership check: "+who.match+")") {
				t.Errorf("%s, Test for %s does not say %q", name, who.uid, who.match)
			}
		}
	}
}
