package ldapserver

import (
	"crypto/sha1"
	"encoding/base64"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"
)

// ssha is the {SSHA} hash of pw with a fixed salt, as slappasswd writes it.
func ssha(pw string) string {
	salt := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	sum := sha1.Sum(append([]byte(pw), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
}

// A user sets only a cleartext password, checked against the policy; a hash
// comes only from an admin, and a malformed one is refused rather than
// stored, so it cannot lock its user out.
func TestPasswordRulesOverLDAP(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	replace := func(c *client, dn, value string) error {
		m := ldap.NewModifyRequest(dn, nil)
		m.Replace("userPassword", []string{value})
		return c.Modify(m)
	}
	binds := func(dn, pw string) bool { return dial(t, addr).Bind(dn, pw) == nil }
	alice := connect(t, addr, aliceDN, "alice-password")
	admin := connect(t, addr, adminDN, "admin-password")

	if err := replace(alice, aliceDN, ssha("a")); resultCode(err) != ldap.LDAPResultInsufficientAccessRights {
		t.Errorf("user writes {SSHA} of \"a\" to their own entry: %v, want insufficientAccessRights", err)
	}
	if binds(aliceDN, "a") || !binds(aliceDN, "alice-password") {
		t.Error("after the refused hash, the hash's password binds or the old one does not")
	}
	if _, err := alice.PasswordModify(ldap.NewPasswordModifyRequest("", "alice-password", "short")); resultCode(err) != ldap.LDAPResultConstraintViolation {
		t.Errorf("user sets a too short password with Password Modify: %v, want constraintViolation", err)
	}
	if err := replace(alice, aliceDN, "short"); resultCode(err) != ldap.LDAPResultConstraintViolation {
		t.Errorf("user writes a too short cleartext userPassword: %v, want constraintViolation", err)
	}

	if err := replace(admin, aliceDN, "{SSHA}xxxx"); resultCode(err) != ldap.LDAPResultInvalidAttributeSyntax {
		t.Errorf("admin writes {SSHA}xxxx: %v, want invalidAttributeSyntax", err)
	}
	if !binds(aliceDN, "alice-password") {
		t.Error("the refused malformed hash locked alice out")
	}
	if err := replace(admin, aliceDN, ssha("imported-password")); err != nil {
		t.Fatalf("admin writes a valid {SSHA}: %v", err)
	}
	if !binds(aliceDN, "imported-password") || binds(aliceDN, "alice-password") {
		t.Error("after the admin's valid {SSHA}, its password does not bind or the old one still does")
	}
}
