package ldapserver

import (
	"testing"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory/password"
)

// NT hashes are stored sealed; the samba bind account still reads the right
// one, and a new password's at once.
func TestSambaNTPasswordFromSealedHash(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	read := func() string {
		e := connect(t, addr, sambaDN, "samba-password").find(aliceDN, ldap.ScopeBaseObject, "(objectClass=*)", "sambaNTPassword")
		return e[0].GetAttributeValue("sambaNTPassword")
	}
	if got, want := read(), password.NTHashHex("alice-password"); got != want {
		t.Errorf("sambaNTPassword = %q, want %q", got, want)
	}
	alice := connect(t, addr, aliceDN, "alice-password")
	if _, err := alice.PasswordModify(ldap.NewPasswordModifyRequest("", "alice-password", "new rabbit hole")); err != nil {
		t.Fatal(err)
	}
	if got, want := read(), password.NTHashHex("new rabbit hole"); got != want {
		t.Errorf("sambaNTPassword after a change = %q, want %q", got, want)
	}
}
