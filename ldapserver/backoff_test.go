package ldapserver

import (
	"testing"

	ldap "github.com/go-ldap/ldap/v3"
)

// mustDialFrom connects to addr from the loopback address local.
func mustDialFrom(t *testing.T, local, addr string) *ldap.Conn {
	t.Helper()
	c, err := dialFrom(t, local, addr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A flood of wrong passwords at alice from one address leaves the NAS's
// bind account, which binds from that address, working; alice is refused
// there even with her right password, and works from another address.
func TestBindFloodSparesOtherAccounts(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	c := mustDialFrom(t, "127.0.0.1", addr)
	if err := c.Bind(sambaDN, "samba-password"); err != nil {
		t.Fatalf("the NAS's first bind: %v", err)
	}
	for i := range 200 {
		if err := c.Bind(aliceDN, "guess"); resultCode(err) != ldap.LDAPResultInvalidCredentials {
			t.Fatalf("wrong bind %d: %v", i, err)
		}
	}
	if err := c.Bind(sambaDN, "samba-password"); err != nil {
		t.Errorf("the NAS's bind account after 200 wrong binds for alice from its address: %v", err)
	}
	if err := mustDialFrom(t, "127.0.0.1", addr).Bind(aliceDN, "alice-password"); resultCode(err) != ldap.LDAPResultInvalidCredentials {
		t.Errorf("alice's right password from the flooding address: %v, want refused", err)
	}
	if err := mustDialFrom(t, "127.0.0.2", addr).Bind(aliceDN, "alice-password"); err != nil {
		t.Errorf("alice's right password from 127.0.0.2: %v", err)
	}
}
