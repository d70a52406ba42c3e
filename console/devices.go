package console

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"

	"github.com/atrium-dir/atrium/clients"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/signin"
)

// Devices: a guided connection page for each LDAP client the clients
// package knows, with this server's values, its bind account made on the
// spot, and a Test that sends the client's own requests to this server's
// LDAP listener.

// DefaultBaseDN is Atrium's default base DN, for a Server that names none.
const DefaultBaseDN = "dc=example,dc=com"

// Server is this server as the device guides and the overview show it.
type Server struct {
	// BaseDN is the directory's (default DefaultBaseDN); devices reach the server at the host of
	// the sign-in engine's external URL.
	BaseDN string
	// LDAPAddr and LDAPSAddr are the LDAP listen addresses; a device Test
	// connects to them.
	LDAPAddr, LDAPSAddr string
	// HTTPAddr is the web listener's address, for the overview.
	HTTPAddr string
	// Certificate is the LDAP and LDAPS listeners' TLS certificate; a
	// device Test trusts it, and the overview shows its expiry.
	Certificate *x509.Certificate
	// SAMLCertificate reads the SAML signing certificate (nil: not shown).
	SAMLCertificate func(context.Context) (*x509.Certificate, error)
	// StorePath is the database file; BackupDir holds scheduled backups
	// (empty: none are scheduled).
	StorePath, BackupDir string
}

type devicesView struct {
	Guides []clients.Rendered
}

type deviceView struct {
	Guide   clients.Rendered
	BaseDN  string
	Account *directory.BindAccount // the guide's bind account, when it exists
	// Password is the bind account's, shown once after it is created.
	Password string
	Test     *deviceTest
	User     string
	Group    string
}

// deviceTest is what a Test saw: each request's outcome, and what the
// client would show of the directory.
type deviceTest struct {
	Results       []testResult
	Users, Groups int      // entries the client's searches find for any user
	UserGroups    []string // the chosen user's groups
	Skipped       []string // requests that need the user's password
	AllOK         bool
}

type testResult struct {
	clients.Search
	Entries []string
	Problem string
	Matches bool // a membership check found the user
}

func (c *Console) devices(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	var v devicesView
	for _, name := range clients.Names() {
		g, err := c.guide(name)
		if err != nil {
			c.fail(w, "device guide", err)
			return
		}
		if g.Kind == "ldap" {
			v.Guides = append(v.Guides, g)
		}
	}
	c.show(w, http.StatusOK, "devices.html", "Devices", view{Admin: a, Section: "devices", Data: v})
}

// guide renders the named client's guide with this server's values; SAML
// apps have their own pages.
func (c *Console) guide(name string) (clients.Rendered, error) {
	s, err := c.settings()
	if err != nil {
		return clients.Rendered{}, err
	}
	return clients.Guide(name, s)
}

// settings are this server's values for the guides.
func (c *Console) settings() (clients.Settings, error) {
	return clients.ServerSettings(c.server.BaseDN, orPort(c.server.LDAPAddr, ":389"), orPort(c.server.LDAPSAddr, ":636"), c.signin.URL(""))
}

// orPort is addr, or def for a listener that is off, so that a guide still
// renders (with the standard port).
func orPort(addr, def string) string {
	if addr == "" {
		return def
	}
	return addr
}

func (c *Console) device(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	c.showDevice(w, r, a, http.StatusOK, deviceView{}, "", "")
}

func (c *Console) showDevice(w http.ResponseWriter, r *http.Request, a signin.Account, status int, v deviceView, notice, problem string) {
	g, err := c.guide(r.PathValue("name"))
	if errors.Is(err, clients.ErrUnknown) || err == nil && g.Kind != "ldap" {
		c.pages.Message(w, http.StatusNotFound, "Not found", "There is no guide for this device.")
		return
	}
	if err != nil {
		c.fail(w, "device guide", err)
		return
	}
	v.Guide, v.BaseDN = g, c.server.BaseDN
	if g.Needs.BindAccount != "" {
		if acc, err := c.dir.BindAccount(r.Context(), g.Needs.BindAccount); err == nil {
			v.Account = &acc
		} else if !errors.Is(err, directory.ErrNotFound) {
			c.fail(w, "bind account", err)
			return
		}
	}
	if v.User == "" {
		v.User = a.User.UID
	}
	c.show(w, status, "device.html", g.Title, view{Admin: a, Section: "devices", Notice: notice, Error: problem, Data: v})
}

// createDeviceAccount makes the guide's bind account with the guide's
// rights, as `atrium bind-account add` does.
func (c *Console) createDeviceAccount(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	g, err := c.guide(r.PathValue("name"))
	if err != nil || g.Needs.BindAccount == "" {
		c.pages.Message(w, http.StatusNotFound, "Not found", "This device needs no bind account.")
		return
	}
	rights, err := directory.ParseRights(g.Needs.Rights)
	pw := password.Generate(bindPasswordLength)
	if err == nil {
		_, err = c.dir.CreateBindAccount(r.Context(), g.Needs.BindAccount, rights, pw)
	}
	if err != nil {
		c.refuse(w, err, func(status int, message string) { c.showDevice(w, r, a, status, deviceView{}, "", message) })
		return
	}
	c.audit(r, a, g.Needs.BindAccount, "bind-account add for "+g.Name)
	c.showDevice(w, r, a, http.StatusOK, deviceView{Password: pw}, "The bind account is created.", "")
}

// testDevice sends the guide's requests to this server's LDAP listener,
// once for the chosen user (each request's outcome, the user's groups) and
// once for any user (how many users and groups the client sees).
func (c *Console) testDevice(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	v := deviceView{User: strings.TrimSpace(r.PostFormValue("user")), Group: strings.TrimSpace(r.PostFormValue("group"))}
	if _, err := c.guide(name); err != nil || v.User == "" {
		c.showDevice(w, r, a, http.StatusBadRequest, v, "", "Name a user to test with.")
		return
	}
	// Only names that exist go into the client's filters and DNs.
	if _, err := c.dir.User(r.Context(), v.User); err != nil {
		c.refuse(w, err, func(status int, message string) { c.showDevice(w, r, a, status, v, "", message) })
		return
	}
	if v.Group != "" {
		if _, err := c.dir.Group(r.Context(), v.Group); err != nil {
			c.refuse(w, err, func(status int, message string) { c.showDevice(w, r, a, status, v, "", message) })
			return
		}
	}
	t, err := c.runTest(name, v.User, v.Group, clients.Secrets{BindPassword: r.PostFormValue("bind_password"), UserPassword: r.PostFormValue("user_password")})
	if err != nil {
		c.fail(w, "device test", err)
		return
	}
	v.Test = t
	result := "passed"
	if !t.AllOK {
		result = "failed"
	}
	c.audit(r, a, name, "device test as "+v.User+": "+result)
	c.showDevice(w, r, a, http.StatusOK, v, "", "")
}

func (c *Console) runTest(name, user, group string, sec clients.Secrets) (*deviceTest, error) {
	s, err := c.settings()
	if err != nil {
		return nil, err
	}
	sec.TLS = &tls.Config{ServerName: s.Host, RootCAs: c.roots()}
	s.Host = dialHost(c.server.LDAPAddr, c.server.LDAPSAddr)
	s.User = user
	if group != "" {
		s.Group = group
	}
	g, err := clients.Guide(name, s)
	if err != nil {
		return nil, err
	}
	t := &deviceTest{AllOK: true}
	g.Searches, t.Skipped = runnable(g.Searches, sec.UserPassword != "")
	relaxCounts(g.Searches)
	for _, res := range clients.Run(g, sec) {
		tr := testResult{Search: res.Search, Entries: res.Entries}
		tr.Matches = slices.ContainsFunc(res.Entries, func(dn string) bool { return strings.EqualFold(dn, g.UserDN) })
		if res.Err != nil {
			tr.Problem, t.AllOK = res.Err.Error(), false
		}
		t.Results = append(t.Results, tr)
		t.UserGroups = appendUnder(t.UserGroups, res.Entries, "ou=groups,"+s.BaseDN)
	}
	s.User, s.Group = "*", "*"
	if g, err = clients.Guide(name, s); err != nil {
		return nil, err
	}
	g.Searches, _ = runnable(g.Searches, false)
	var users, groups []string
	for _, res := range clients.Run(g, sec) {
		users = appendUnder(users, res.Entries, "ou=people,"+s.BaseDN)
		groups = appendUnder(groups, res.Entries, "ou=groups,"+s.BaseDN)
	}
	t.Users, t.Groups = len(users), len(groups)
	return t, nil
}

// runnable drops the requests that bind as the user when their password
// is not given, and names them.
func runnable(all []clients.Search, userPassword bool) (keep []clients.Search, skipped []string) {
	for _, q := range all {
		if q.Bind == clients.BindUser && !userPassword {
			skipped = append(skipped, q.Name)
			continue
		}
		keep = append(keep, q)
	}
	return keep, skipped
}

// relaxCounts asks each request for what the client needs from the
// server, not for what the clients package's test directory holds: one
// entry at least where a guide asks for more (a smaller directory answers
// the client just as well); nothing of the user's memberships (memberOf
// values, and the entries of a membership check), which the Test shows
// instead of judging, since a user outside admins is answered as correctly
// as one inside; and none of the attributes a user fills in (names, mail,
// SSH keys), whose absence the client takes in its stride.
func relaxCounts(qs []clients.Search) {
	for i := range qs {
		e := &qs[i].Expect
		e.Min = min(e.Min, 1)
		delete(e.Values, "memberOf")
		if e.Membership {
			e.DNs, e.Exact = nil, false
		}
		e.Present = slices.DeleteFunc(slices.Clone(e.Present), func(a string) bool { return userFilled[strings.ToLower(a)] })
	}
}

// userFilled are the attributes a user's own data provides, if anyone
// filled them in.
var userFilled = map[string]bool{"givenname": true, "sn": true, "mail": true, "displayname": true, "sshpublickey": true}

// appendUnder adds the DNs directly under parent that list lacks.
func appendUnder(list, dns []string, parent string) []string {
	for _, dn := range dns {
		if strings.HasSuffix(strings.ToLower(dn), ","+strings.ToLower(parent)) && !slices.Contains(list, dn) {
			list = append(list, dn)
		}
	}
	return list
}

// dialHost is the host a Test connects to: the listener's own, or
// loopback for one that listens on every address.
func dialHost(addrs ...string) string {
	for _, addr := range addrs {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			return "127.0.0.1"
		}
		return host
	}
	return "127.0.0.1"
}

// roots trusts this server's own certificate (nil: the system's roots).
func (c *Console) roots() *x509.CertPool {
	if c.server.Certificate == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.server.Certificate)
	return pool
}
