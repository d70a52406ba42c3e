package console_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/clients"
	"github.com/atrium-dir/atrium/console"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/browser"
	"github.com/atrium-dir/atrium/internal/testenv"
	"github.com/atrium-dir/atrium/ldapserver"
	"github.com/atrium-dir/atrium/ldif"
)

const testBaseDN = "dc=example,dc=com"

// ldapSite is a site whose directory is also served over LDAP and LDAPS
// on loopback by the real LDAP front end, with the console told of both
// listeners and the certificate.
type ldapSite struct {
	*site
	server console.Server
	caFile string
}

func newLDAPSite(t *testing.T, adjust func(*console.Server)) *ldapSite {
	t.Helper()
	return newLDAPSiteOn(t, adjust, directory.Options{}, nil)
}

// newLDAPSiteOn is newLDAPSite over a directory opened with dopt, and
// with samba (when not nil) as the LDAP front end's Samba domain.
func newLDAPSiteOn(t *testing.T, adjust func(*console.Server), dopt directory.Options, samba *ldapserver.SambaDomain) *ldapSite {
	t.Helper()
	plain, secure := listenLoopback(t), listenLoopback(t)
	cert, tlsConfig := testCertificate(t)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	server := console.Server{BaseDN: testBaseDN, LDAPAddr: plain.Addr().String(), LDAPSAddr: secure.Addr().String(), Certificate: cert}
	if adjust != nil {
		adjust(&server)
	}
	serve := func(d *directory.Directory) error {
		layout, err := ldif.NewLayout(testBaseDN)
		if err != nil {
			return err
		}
		srv := &ldapserver.Server{TLSConfig: tlsConfig, Backend: ldapserver.NewBackend(ldapserver.BackendConfig{
			Directory: d, Layout: layout, Samba: samba})}
		go srv.Serve(plain)
		go srv.ServeTLS(secure)
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			srv.Shutdown(ctx)
		})
		return nil
	}
	st := newSiteOn(t, dopt, true, serve, console.Options{Server: server})
	return &ldapSite{site: st, server: server, caFile: caFile}
}

func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// testCertificate is a self-signed certificate for localhost and
// 127.0.0.1, as Atrium makes on first start.
func testCertificate(t *testing.T) (*x509.Certificate, *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// TestDeviceGuideBrowser: in headless Chromium the admin opens the nslcd
// guide, creates its bind account on the spot (the password is shown
// once), and runs the Test for alice. Each request's entries, the number
// of users and groups the client sees and alice's groups are what the
// real ldapsearch returns for the same filters, bound as the same account.
// Screenshots of the list and the guide at desktop and phone widths.
func TestDeviceGuideBrowser(t *testing.T) {
	ldapsearch := testenv.Tool(t, "ldapsearch", "ldap-utils")
	st := newLDAPSite(t, nil)
	ctx := context.Background()
	if _, err := st.d.ChangeMembers(ctx, "ops", []directory.MemberRef{{Name: "alice"}}, nil); err != nil {
		t.Fatal(err)
	}
	admin := tab{t, browser.New(t)}
	st.signInAdmin(admin)
	admin.do("the devices", chromedp.Navigate(st.srv.URL+"/admin/devices"), chromedp.WaitVisible(chromedp.ID("devices")))
	admin.shot("devices")
	if list := admin.text("#devices"); !strings.Contains(list, "Synology") || !strings.Contains(list, "Duo") || strings.Contains(list, "Cloudflare") {
		t.Errorf("the devices list: %q", list)
	}
	admin.do("create nslcd's bind account",
		chromedp.Navigate(st.srv.URL+"/admin/devices/nslcd"),
		chromedp.WaitVisible(chromedp.CSS(`#bind-account button`)),
		chromedp.Click(chromedp.CSS(`#bind-account button`)),
		chromedp.WaitVisible(chromedp.ID("bind-password")),
	)
	pw := admin.text("#bind-password")
	if len(pw) < 20 {
		t.Fatalf("the bind account's password is %q", pw)
	}
	admin.do("test as alice",
		chromedp.SetValue(chromedp.ID("user"), "alice"),
		chromedp.SetValue(chromedp.ID("group"), "ops"),
		chromedp.Submit(chromedp.ID("user")),
		chromedp.WaitVisible(chromedp.ID("test-result")),
	)
	admin.shot("device-nslcd")
	st.compareWithLDAPSearch(t, admin, ldapsearch, pw)
	if strings.Contains(admin.text("body"), pw) {
		t.Error("the Test page shows the bind account's password again")
	}
	// A name that is no user is refused, and shown as text.
	admin.do("test as a name with markup",
		chromedp.SetValue(chromedp.ID("user"), "<b>x)(uid=*</b>"),
		chromedp.Submit(chromedp.ID("user")),
		chromedp.WaitVisible(chromedp.CSS("p.error")),
	)
	if msg := admin.text("p.error"); !strings.Contains(msg, "Not found") {
		t.Errorf("a Test for a user that does not exist says %q", msg)
	}
	if n, err := chromedp.Run(admin.ctx, chromedp.Evaluate[int](`document.querySelectorAll("main b").length`)); err != nil || n != 0 {
		t.Errorf("the markup in the name became %d elements (%v)", n, err)
	}
	events, err := st.d.AuditEvents(ctx, directory.AuditQuery{Kind: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	var done []string
	for _, e := range events {
		done = append(done, e.Actor+": "+e.Subject+": "+e.Detail)
	}
	for _, want := range []string{"admin: nslcd: bind-account add for nslcd", "admin: nslcd: device test as alice: passed"} {
		if !slices.Contains(done, want) {
			t.Errorf("the audit log lacks %q: %q", want, done)
		}
	}
}

var dnRE = regexp.MustCompile(`(?m)^dn: (.+)$`)

// compareWithLDAPSearch runs each search of the nslcd guide with the real
// ldapsearch and checks the Test page shows the same entries.
func (st *ldapSite) compareWithLDAPSearch(t *testing.T, admin tab, ldapsearch, pw string) {
	t.Helper()
	s, err := clients.ServerSettings(testBaseDN, st.server.LDAPAddr, st.server.LDAPSAddr, st.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	s.User, s.Group = "alice", "ops"
	g, err := clients.Guide("nslcd", s)
	if err != nil {
		t.Fatal(err)
	}
	search := func(q clients.Search) []string {
		cmd := exec.Command(ldapsearch, "-LLL", "-o", "ldif-wrap=no", "-x", "-H", "ldaps://127.0.0.1:"+strconv.Itoa(s.LDAPSPort),
			"-D", g.BindDN, "-w", pw, "-b", q.Base, "-s", q.Scope, q.Filter, "1.1")
		cmd.Env = append(os.Environ(), "LDAPTLS_CACERT="+st.caFile)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("ldapsearch %s: %v\n%s", q.Filter, err, out)
		}
		var dns []string
		for _, m := range dnRE.FindAllStringSubmatch(string(out), -1) {
			dns = append(dns, m[1])
		}
		return dns
	}
	rows := admin.text("#requests tbody")
	for _, q := range g.Searches {
		if q.Filter == "" {
			continue
		}
		want := search(q)
		if len(want) == 0 {
			t.Errorf("ldapsearch %s finds nothing; the test proves little", q.Filter)
		}
		for _, dn := range want {
			if !strings.Contains(rows, dn) {
				t.Errorf("%s: ldapsearch finds %s, the Test page does not show it:\n%s", q.Name, dn, rows)
			}
		}
	}
	groups := search(clients.Search{Base: testBaseDN, Scope: "sub", Filter: "(&(objectClass=posixGroup)(|(memberUid=alice)(member=uid=alice,ou=people," + testBaseDN + ")))"})
	slices.Sort(groups)
	shown := strings.Split(admin.text("#user-groups"), ", ")
	slices.Sort(shown)
	if !slices.Equal(shown, groups) {
		t.Errorf("the Test shows alice's groups %q, ldapsearch %q", shown, groups)
	}
	users := search(clients.Search{Base: testBaseDN, Scope: "sub", Filter: "(&(objectClass=posixAccount)(uid=*))"})
	allGroups := search(clients.Search{Base: testBaseDN, Scope: "sub", Filter: "(&(objectClass=posixGroup)(cn=*))"})
	if got := admin.text("#seen-users"); got != strconv.Itoa(len(users)) {
		t.Errorf("the Test says the client sees %s users, ldapsearch finds %d", got, len(users))
	}
	if got := admin.text("#seen-groups"); got != strconv.Itoa(len(allGroups)) {
		t.Errorf("the Test says the client sees %s groups, ldapsearch finds %d", got, len(allGroups))
	}
}
