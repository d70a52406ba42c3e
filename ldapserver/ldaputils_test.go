package ldapserver

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/testenv"
)

// ldapTools runs OpenLDAP's command-line tools against a server on the
// fixture, over plain LDAP, StartTLS and LDAPS.
type ldapTools struct {
	t          *testing.T
	url, ldaps string
	env        []string
}

func newLDAPTools(t *testing.T, f *fixture) *ldapTools {
	t.Helper()
	testenv.Tool(t, "ldapsearch", "ldap-utils")
	s, addr := startServer(t, f)
	tlsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.ServeTLS(tlsLn)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	der := s.TLSConfig.Certificates[0].Certificate[0]
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &ldapTools{t: t, url: "ldap://" + addr, ldaps: "ldaps://" + tlsLn.Addr().String(),
		// An empty HOME and LDAPCONF keep ~/.ldaprc and /etc/ldap/ldap.conf
		// out of the test (LDAPNOINIT would drop the LDAPTLS_* variables too).
		env: append(os.Environ(), "HOME="+t.TempDir(), "LDAPCONF=/dev/null", "LDAPTLS_CACERT="+ca, "LDAPTLS_REQCERT=demand")}
}

// run runs tool and returns its output and exit code.
func (l *ldapTools) run(stdin, tool string, args ...string) (string, int) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Tool(l.t, tool, "ldap-utils"), args...)
	cmd.Env = l.env
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return out.String(), exit.ExitCode()
	} else if err != nil {
		l.t.Fatalf("%s: %v", tool, err)
	}
	return out.String(), 0
}

func (l *ldapTools) ok(stdin, tool string, args ...string) string {
	l.t.Helper()
	out, code := l.run(stdin, tool, args...)
	if code != 0 {
		l.t.Fatalf("%s %s: exit %d\n%s", tool, strings.Join(args, " "), code, out)
	}
	return out
}

func TestLdapsearch(t *testing.T) {
	f := newFixture(t, Access{})
	ctx := context.Background()
	for i := range 250 {
		if _, err := f.dir.CreateUser(ctx, directory.User{UID: fmt.Sprintf("user%03d", i), Mail: fmt.Sprintf("user%03d@example.com", i)}); err != nil {
			t.Fatal(err)
		}
	}
	l := newLDAPTools(t, f)
	search := func(extra ...string) string {
		args := append([]string{"-x", "-LLL", "-D", readerDN, "-w", "reader-password", "-b", "dc=example,dc=com"}, extra...)
		return l.ok("", "ldapsearch", args...)
	}
	for name, args := range map[string][]string{
		"simple":   {"-H", l.url},
		"StartTLS": {"-H", l.url, "-ZZ"},
		"LDAPS":    {"-H", l.ldaps},
	} {
		t.Run(name, func(t *testing.T) {
			out := search(append(args, "(uid=alice)", "uid", "mail", "memberOf")...)
			for _, want := range []string{"dn: " + aliceDN, "mail: alice@example.com", "memberOf: cn=staff,ou=groups,dc=example,dc=com"} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
		})
	}
	t.Run("paged", func(t *testing.T) {
		// -L keeps the comments where ldapsearch notes each page.
		out := l.ok("", "ldapsearch", "-x", "-L", "-D", readerDN, "-w", "reader-password", "-b", "dc=example,dc=com",
			"-H", l.url, "-E", "pr=100/noprompt", "(objectClass=inetOrgPerson)", "1.1")
		if n := strings.Count(out, "\ndn: uid=") + boolInt(strings.HasPrefix(out, "dn: uid=")); n != 253 {
			t.Errorf("paged search returned %d people, want 253", n)
		}
		if n := strings.Count(out, "# pagedresults: "); n != 3 || !strings.Contains(out, "# numResponses: 256") {
			t.Errorf("%d pages of 100 for 253 entries, want 3:\n%s", n, out[len(out)-600:])
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestLdapwhoamiPasswdCompare(t *testing.T) {
	f := newFixture(t, Access{})
	l := newLDAPTools(t, f)
	if out := l.ok("", "ldapwhoami", "-x", "-H", l.url, "-D", aliceDN, "-w", "alice-password"); strings.TrimSpace(out) != "dn:"+aliceDN {
		t.Errorf("ldapwhoami: %q", out)
	}
	if out := l.ok("", "ldapwhoami", "-x", "-H", l.url, "-ZZ", "-D", readerDN, "-w", "reader-password"); strings.TrimSpace(out) != "dn:"+readerDN {
		t.Errorf("ldapwhoami as bind account: %q", out)
	}

	// The password policy: a common password, and one holding alice's own
	// name, are refused with constraintViolation (19) and a reason.
	for pw, why := range map[string]string{"password123": "most commonly used", "Alice-in-2024": "own name"} {
		if out, code := l.run("", "ldappasswd", "-x", "-H", l.url, "-D", aliceDN, "-w", "alice-password", "-s", pw); code == 0 || !strings.Contains(out, "Constraint violation (19)") || !strings.Contains(out, why) {
			t.Errorf("ldappasswd -s %s: exit %d, want constraintViolation saying %q:\n%s", pw, code, why, out)
		}
	}
	l.ok("", "ldappasswd", "-x", "-H", l.url, "-D", aliceDN, "-w", "alice-password", "-s", "new rabbit hole")
	l.ok("", "ldapwhoami", "-x", "-H", l.url, "-D", aliceDN, "-w", "new rabbit hole")
	if _, code := l.run("", "ldapwhoami", "-x", "-H", l.url, "-D", aliceDN, "-w", "alice-password"); code != 49 {
		t.Errorf("old password after ldappasswd: exit %d, want 49 (invalidCredentials)", code)
	}
	out := l.ok("", "ldappasswd", "-x", "-H", l.url, "-D", aliceDN, "-w", "new rabbit hole")
	m := regexp.MustCompile(`New password: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ldappasswd without -s printed no generated password:\n%s", out)
	}
	l.ok("", "ldapwhoami", "-x", "-H", l.url, "-D", aliceDN, "-w", m[1])

	compare := func(assertion string) int {
		_, code := l.run("", "ldapcompare", "-x", "-H", l.url, "-D", readerDN, "-w", "reader-password", aliceDN, assertion)
		return code
	}
	if c := compare("mail:ALICE@example.com"); c != 6 {
		t.Errorf("ldapcompare TRUE case: exit %d, want 6", c)
	}
	if c := compare("mail:bob@example.com"); c != 5 {
		t.Errorf("ldapcompare FALSE case: exit %d, want 5", c)
	}
}

func TestLdapmodify(t *testing.T) {
	f := newFixture(t, Access{})
	l := newLDAPTools(t, f)
	add := `dn: uid=dave,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: posixAccount
uid: dave
cn: Dave Grohl
sn: Grohl
mail: dave@example.com
`
	modify := `dn: uid=dave,ou=people,dc=example,dc=com
changetype: modify
replace: mail
mail: dave@foo.example
-
add: givenName
givenName: Dave
`
	as := func(dn, pw string) []string { return []string{"-x", "-H", l.url, "-D", dn, "-w", pw} }

	if out, code := l.run(add, "ldapmodify", append(as(readerDN, "reader-password"), "-a")...); code != 50 {
		t.Errorf("ldapadd as a read-only account: exit %d, want 50 (insufficientAccessRights)\n%s", code, out)
	}
	l.ok(add, "ldapmodify", append(as(adminDN, "admin-password"), "-a")...)
	l.ok(modify, "ldapmodify", as(adminDN, "admin-password")...)
	out := l.ok("", "ldapsearch", append(as(readerDN, "reader-password"), "-LLL", "-b", "dc=example,dc=com", "(uid=dave)", "mail", "givenName")...)
	if !strings.Contains(out, "mail: dave@foo.example") || !strings.Contains(out, "givenName: Dave") {
		t.Errorf("after ldapmodify:\n%s", out)
	}
	l.ok("dn: uid=dave,ou=people,dc=example,dc=com\nchangetype: delete\n", "ldapmodify", as(adminDN, "admin-password")...)
	if _, err := f.dir.User(context.Background(), "dave"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("dave still exists after the delete: %v", err)
	}
}
