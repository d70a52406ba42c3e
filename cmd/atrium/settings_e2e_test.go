package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"
)

// anonymousBaseSearch reads the base entry on conn, which has not bound.
func anonymousBaseSearch(conn *ldap.Conn) (int, error) {
	res, err := conn.Search(ldap.NewSearchRequest(baseDN, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", nil, nil))
	if err != nil {
		return 0, err
	}
	return len(res.Entries), nil
}

func dialLDAP(t *testing.T, addr string) *ldap.Conn {
	t.Helper()
	conn, err := ldap.DialURL("ldap://"+addr, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	conn.SetTimeout(5 * time.Second)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// `atrium settings set`, run while the server runs, changes the running
// server's LDAP front end at once, over connections already open too:
// a raised minimum password length refuses a password modify, app
// passwords become the only way for staff to bind, and anonymous clients
// may read the base entry. The changes are audited, shown by `settings
// show`, and kept across a restart.
func TestSettingsApplyToTheRunningServer(t *testing.T) {
	dir := t.TempDir()
	env := testEnv()
	tr := &transcript{}
	c := &cli{data: filepath.Join(dir, "data"), env: env, tr: tr}
	c.okIn(t, "violet teapot\n", "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	c.ok(t, "group", "add", "staff")
	c.ok(t, "group", "add-member", "staff", "alice")
	nas := decodeJSON[map[string]string](t, c.ok(t, "app-password", "add", "alice", "nas", "--json"))["password"]
	srv := startServer(t, c.data, env, tr)
	c.served = true
	anon := dialLDAP(t, srv.ldapAddr)
	if _, err := anonymousBaseSearch(anon); !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
		t.Fatalf("an anonymous search by default: %v", err)
	}

	alice := dialLDAP(t, srv.ldapAddr)
	if err := alice.Bind(userDN("alice"), "violet teapot"); err != nil {
		t.Fatal(err)
	}
	// On Openwall's list (password.lst), not on the one Atrium had before.
	_, err := alice.PasswordModify(ldap.NewPasswordModifyRequest("", "violet teapot", "Flamingo2024!"))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultConstraintViolation) || !strings.Contains(err.Error(), "most commonly used") {
		t.Errorf("a password from the shipped list: %v", err)
	}
	c.ok(t, "settings", "set", "password.min_length", "16")
	_, err = alice.PasswordModify(ldap.NewPasswordModifyRequest("", "violet teapot", "violet teapots!"))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultConstraintViolation) || !strings.Contains(err.Error(), "at least 16 characters") {
		t.Errorf("a 15-character password under a minimum of 16: %v", err)
	}

	mustBind(t, srv.ldapAddr, userDN("alice"), "violet teapot")
	c.ok(t, "settings", "set", "ldap.app_password_only_groups", "staff", "ldap.anonymous", "base")
	mustNotBind(t, srv.ldapAddr, userDN("alice"), "violet teapot")
	mustBind(t, srv.ldapAddr, userDN("alice"), nas)
	if n, err := anonymousBaseSearch(anon); n != 1 || err != nil {
		t.Errorf("an anonymous search of the base after ldap.anonymous base: %d entries, %v", n, err)
	}

	show := c.ok(t, "settings", "show")
	for _, key := range []string{"ldap.anonymous", "ldap.app_password_only_groups", "password.min_length"} {
		if row := tableRow(t, show, key); !strings.HasSuffix(strings.TrimSpace(row), "stored") {
			t.Errorf("settings show: %q", row)
		}
	}
	audit := c.ok(t, "audit", "--json")
	for _, want := range []string{`"detail": "set ldap.anonymous base"`, `"detail": "set password.min_length 16"`, `"service": "cli"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("the audit log lacks %s", want)
		}
	}
	srv.stop(t)

	srv = startServer(t, c.data, env, tr)
	if n, err := anonymousBaseSearch(dialLDAP(t, srv.ldapAddr)); n != 1 || err != nil {
		t.Errorf("after a restart, an anonymous search of the base: %d entries, %v", n, err)
	}
	c.ok(t, "settings", "reset", "ldap.anonymous")
	if _, err := anonymousBaseSearch(dialLDAP(t, srv.ldapAddr)); !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
		t.Errorf("after settings reset ldap.anonymous: %v", err)
	}
	srv.stop(t)
}

// password.refused_file adds the admin's own passwords to those refused,
// for every password set; config check names a file it cannot read.
func TestRefusedPasswordsFile(t *testing.T) {
	dir := t.TempDir()
	list := filepath.Join(dir, "refused.txt")
	cfgFile := filepath.Join(dir, "atrium.yaml")
	if err := os.WriteFile(list, []byte("# our own\nAcme Widgets\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgFile, []byte("password:\n  refused_file: "+list+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &cli{data: filepath.Join(dir, "data"), env: testEnv("ATRIUM_CONFIG=" + cfgFile), tr: &transcript{}}
	r := c.failsIn(t, "acme widgets 2024\n", exitInvalid, "user", "add", "bob", "--mail", "bob@example.com", "--password-stdin")
	if !strings.Contains(r.stderr, "most commonly used") {
		t.Errorf("a password from the refused file: %s", r.stderr)
	}
	c.okIn(t, "acme gadgets 2024\n", "user", "add", "bob", "--mail", "bob@example.com", "--password-stdin")
	os.Remove(list)
	if r := c.fails(t, exitError, "config", "check"); !strings.Contains(r.stdout, "password.refused_file: cannot read") {
		t.Errorf("config check with the list gone: %s", r.stdout)
	}
}
