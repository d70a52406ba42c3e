package clients_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/clients"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/ldapserver"
	"github.com/atrium-dir/atrium/ldif"
)

// server is a live Atrium LDAP server set up as one guide says.
type server struct {
	roots      *x509.CertPool
	settings   clients.Settings
	bindSecret string
}

const (
	bindSecret = "bind-account-secret"
	nasName    = "DISKSTATION"
)

// startServer opens a directory on bbolt with alice and bob in staff,
// carol disabled, 30 more users to page through, and what guide needs (its
// bind account, Samba support, anonymous base read), and serves it over
// LDAP and LDAPS on 127.0.0.1. The guide is rendered again for the
// server's ports.
func startServer(t *testing.T, name string) (*server, clients.Rendered) {
	t.Helper()
	guide, err := clients.Guide(name, clients.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := boltstore.Open(filepath.Join(t.TempDir(), "atrium.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, err := directory.New(ctx, st, directory.Options{PasswordParams: password.TestParams, Samba: guide.Needs.Samba, SecretKey: bytes.Repeat([]byte{7}, directory.SecretKeySize),
		Settings: directory.Settings{Anonymous: guide.Needs.Anonymous}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	seed(t, d)
	if guide.Needs.BindAccount != "" {
		rights, err := directory.ParseRights(guide.Needs.Rights)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.CreateBindAccount(ctx, guide.Needs.BindAccount, rights, bindSecret); err != nil {
			t.Fatal(err)
		}
	}
	s := clients.DefaultSettings()
	layout, err := ldif.NewLayout(s.BaseDN)
	if err != nil {
		t.Fatal(err)
	}
	cfg := ldapserver.BackendConfig{Directory: d, Layout: layout}
	if guide.Needs.Samba {
		cfg.Samba = &ldapserver.SambaDomain{Name: "EXAMPLE", SID: "S-1-5-21-1-2-3", NetBIOSNames: []string{nasName}}
	}
	tlsConfig, roots := selfSigned(t)
	srv := &ldapserver.Server{Backend: ldapserver.NewBackend(cfg), TLSConfig: tlsConfig}
	plain, secure := listen(t), listen(t)
	go srv.Serve(plain)
	go srv.ServeTLS(secure)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	s.LDAPPort, s.LDAPSPort = port(t, plain), port(t, secure)
	guide, err = clients.Guide(name, s)
	if err != nil {
		t.Fatal(err)
	}
	return &server{roots: roots, settings: s, bindSecret: bindSecret}, guide
}

func seed(t *testing.T, d *directory.Directory) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	users := []directory.User{
		{UID: "alice", Mail: "alice@example.com", GivenName: "Alice", Surname: "Liddell", SSHKeys: []string{"ssh-ed25519 AAAAalice"}},
		{UID: "bob", Mail: "bob@example.com", GivenName: "Bob", Surname: "Builder"},
		{UID: "carol", Mail: "carol@example.com", Disabled: true},
	}
	for i := range 30 {
		users = append(users, directory.User{UID: fmt.Sprintf("user%02d", i), Mail: fmt.Sprintf("user%02d@example.com", i)})
	}
	for _, u := range users {
		_, err := d.CreateUser(ctx, u)
		must(err)
		must(d.SetPassword(ctx, u.UID, u.UID+"-password"))
	}
	for _, g := range []string{"staff", "admins", "everyone"} {
		_, err := d.CreateGroup(ctx, directory.Group{CN: g})
		must(err)
	}
	_, err := d.ChangeMembers(ctx, "staff", []directory.MemberRef{{Name: "alice"}, {Name: "bob"}}, nil)
	must(err)
	_, err = d.ChangeMembers(ctx, "admins", []directory.MemberRef{{Name: "alice"}}, nil)
	must(err)
	_, err = d.ChangeMembers(ctx, "everyone", []directory.MemberRef{{Group: true, Name: "staff"}, {Name: "carol"}}, nil)
	must(err)
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func port(t *testing.T, ln net.Listener) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// selfSigned is a certificate for localhost and 127.0.0.1, as Atrium makes
// on first start, and a pool that trusts it.
func selfSigned(t *testing.T) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")},
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
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, roots
}
