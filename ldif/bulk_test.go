package ldif

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
)

// writeLargeLDIF writes an OpenLDAP-style export of n users with {SSHA}
// passwords in n/100 groups of three groups each, with fixed entryUUIDs and
// times so that two imports of it export the same.
func writeLargeLDIF(w io.Writer, n int) {
	groups := max(n/100, 3)
	for i := range n {
		fmt.Fprintf(w, "dn: uid=u%06d,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\n"+
			"uid: u%06d\ncn: User %d\nsn: %d\nmail: u%06d@example.com\nuidNumber: %d\ngidNumber: %d\nhomeDirectory: /home/u%06d\n"+
			"userPassword: {SSHA}ZGRkZGRkZGRkZGRkZGRkZGRkZGRzYWx0\nentryUUID: %08x-0000-4000-8000-%012x\ncreateTimestamp: 20200101000000Z\n\n",
			i, i, i, i, i, 10000+i, 5000+i%groups, i, i*2654435761%(1<<32), i)
	}
	for g := range groups {
		fmt.Fprintf(w, "dn: cn=g%04d,ou=groups,dc=example,dc=com\nobjectClass: posixGroup\ncn: g%04d\ngidNumber: %d\nentryUUID: %08x-1111-4000-8000-%012x\n",
			g, g, 5000+g, g*2654435761%(1<<32), g)
		for i := range n {
			if i%groups == g || (i+1)%groups == g || (i+2)%groups == g {
				fmt.Fprintf(w, "memberUid: u%06d\n", i)
			}
		}
		fmt.Fprintln(w)
	}
}

func newDirOn(t *testing.T, s directory.Store) *directory.Directory {
	t.Helper()
	d, err := directory.New(context.Background(), s, directory.Options{
		Now:            func() time.Time { return testNow },
		PasswordParams: password.TestParams,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestImportInCheckpointsEqualsOneTransaction imports a file larger than
// a checkpoint into a store declared Sole (written in a copy, in several
// transactions) and into a shared one (one transaction): both export the
// same, and the copy passes the directory's check.
func TestImportInCheckpointsEqualsOneTransaction(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 20,000 users twice")
	}
	var file bytes.Buffer
	writeLargeLDIF(&file, 20_000)
	ctx := context.Background()
	l := testLayout(t)
	exportOf := func(sole bool) []byte {
		path := filepath.Join(t.TempDir(), "atrium.db")
		s, err := boltstore.Open(path, time.Second)
		must(t, err)
		t.Cleanup(func() { s.Close() })
		if sole {
			s.Sole()
		}
		d := newDirOn(t, s)
		rep, err := Import(ctx, d, bytes.NewReader(file.Bytes()), l)
		must(t, err)
		if rep.Users != 20_000 || rep.Passwords != 20_000 {
			t.Fatalf("imported %+v", rep)
		}
		problems, err := d.Check(ctx)
		must(t, err)
		if len(problems) > 0 {
			t.Errorf("the imported store has problems: %v", problems)
		}
		if _, err := os.Stat(path + ".bulk"); err == nil {
			t.Error("the import's copy was left behind")
		}
		var out bytes.Buffer
		must(t, Export(ctx, d, &out, l, ExportOptions{Secrets: true}))
		return out.Bytes()
	}
	inOne, inCheckpoints := exportOf(false), exportOf(true)
	if !bytes.Equal(inOne, inCheckpoints) {
		t.Fatalf("the import in checkpoints exports %d bytes that differ from the one-transaction import's %d", len(inCheckpoints), len(inOne))
	}
}

// TestPlainDNKeyAsParsed: the key of a DN taken without parsing equals the
// parsed one, and DNs that need parsing are left to it.
func TestPlainDNKeyAsParsed(t *testing.T) {
	for _, dn := range []string{
		"uid=user000001,ou=people,dc=example,dc=com", "CN=Group One,OU=Groups,DC=Example,DC=com",
		"cn=a b-c.d_e@f,dc=x", "cn=x-y(z)!,dc=x",
		"cn=a\\,b,dc=x", "cn=a+uid=b,dc=x", "cn= a,dc=x", "cn=a ,dc=x", "cn=#a,dc=x", "cn = a,dc=x", "cn=a, dc=x",
		"2.5.4.3=a,dc=x", "cn=\"a\",dc=x", "cn=é,dc=x", "cn=,dc=x", "cn=a,", "", "cn=a=b,dc=x",
	} {
		c, err := CanonicalDN(dn)
		want := strings.ToLower(c)
		if plainDN(dn) && (err != nil || strings.ToLower(dn) != want) {
			t.Errorf("%q taken as plain, but parsing gives %q, %v", dn, want, err)
		}
		got, gotErr := dnKey(dn)
		if got != want || (gotErr == nil) != (err == nil) {
			t.Errorf("dnKey(%q) = %q, %v; want %q, %v", dn, got, gotErr, want, err)
		}
	}
	if !plainDN("uid=user000001,ou=people,dc=example,dc=com") {
		t.Error("an export's DN is not taken as plain")
	}
}
