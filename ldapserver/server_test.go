package ldapserver

import (
	"context"
	"net"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"
)

// startServer serves the fixture's backend on 127.0.0.1 and returns its
// address.
func startServer(t *testing.T, f *fixture, configure ...func(*Server)) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Backend: f.b, TLSConfig: testTLSConfig(t)}
	for _, c := range configure {
		c(s)
	}
	go s.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(ctx)
	})
	return s, ln.Addr().String()
}

func dial(t *testing.T, addr string) *ldap.Conn {
	t.Helper()
	c, err := ldap.DialURL("ldap://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestSmoke(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	c := dial(t, addr)
	if err := c.Bind("cn=reader,ou=services,dc=example,dc=com", "reader-password"); err != nil {
		t.Fatal(err)
	}
	res, err := c.Search(ldap.NewSearchRequest("dc=example,dc=com", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(uid=alice)", []string{"uid", "memberOf", "givenName"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Entries) != 1 || res.Entries[0].DN != "uid=alice,ou=people,dc=example,dc=com" || res.Entries[0].GetAttributeValue("givenName") != "Alice" {
		t.Fatalf("entries: %+v", res.Entries)
	}
	paged, err := c.SearchWithPaging(ldap.NewSearchRequest("ou=people,dc=example,dc=com", ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"uid"}, nil), 2)
	if err != nil || len(paged.Entries) != 3 {
		t.Fatalf("paged: %v %d", err, len(paged.Entries))
	}
	who, err := c.WhoAmI(nil)
	if err != nil || who.AuthzID != "dn:cn=reader,ou=services,dc=example,dc=com" {
		t.Fatalf("whoami: %+v %v", who, err)
	}
}

func listenTCP(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
