package ldapserver

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/ldif"
)

// fixture is a small directory: alice and bob in staff, staff nested in
// everyone, a read bind account and an admin one.
type fixture struct {
	dir  *directory.Directory
	b    *Backend
	path string // the bbolt file
}

func newFixture(t testing.TB, access Access) *fixture {
	t.Helper()
	return newFixtureOn(t, access, func(s directory.Store) directory.Store { return s })
}

// newFixtureOn is newFixture on a store wrapped by wrap, for tests that
// watch or hold the directory's reads.
func newFixtureOn(t testing.TB, access Access, wrap func(directory.Store) directory.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "atrium.db")
	s, err := boltstore.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d, err := directory.New(ctx, wrap(s), directory.Options{PasswordParams: password.TestParams, Samba: true, SecretKey: bytes.Repeat([]byte{7}, directory.SecretKeySize),
		Settings: directory.Settings{Anonymous: string(access.Anonymous), UserRead: string(access.Users)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []directory.User{
		{UID: "alice", Mail: "alice@example.com", GivenName: "Alice", Surname: "Liddell", UIDNumber: 10001, GIDNumber: 10001, SSHKeys: []string{"ssh-ed25519 AAAAalice"}},
		{UID: "bob", Mail: "bob@example.com", GivenName: "Bob", Surname: "Builder", UIDNumber: 10002},
		{UID: "carol", Mail: "carol@example.com", UIDNumber: 10003, Disabled: true},
	} {
		_, err := d.CreateUser(ctx, u)
		must(err)
		must(d.SetPassword(ctx, u.UID, u.UID+"-password"))
	}
	for _, g := range []string{"staff", "everyone", "empty"} {
		_, err := d.CreateGroup(ctx, directory.Group{CN: g})
		must(err)
	}
	_, err = d.ChangeMembers(ctx, "staff", []directory.MemberRef{{Name: "alice"}, {Name: "bob"}}, nil)
	must(err)
	_, err = d.ChangeMembers(ctx, "everyone", []directory.MemberRef{{Group: true, Name: "staff"}, {Name: "carol"}}, nil)
	must(err)
	_, err = d.CreateBindAccount(ctx, "reader", []directory.Right{directory.RightRead}, "reader-password")
	must(err)
	_, err = d.CreateBindAccount(ctx, "samba", []directory.Right{directory.RightRead, directory.RightSamba}, "samba-password")
	must(err)
	_, err = d.CreateBindAccount(ctx, "admin", []directory.Right{directory.RightAdmin}, "admin-password")
	must(err)
	layout, err := ldif.NewLayout("dc=example,dc=com")
	must(err)
	b := NewBackend(BackendConfig{Directory: d, Layout: layout, Samba: &SambaDomain{Name: "EXAMPLE", SID: "S-1-5-21-1-2-3"}})
	return &fixture{dir: d, b: b, path: path}
}

func (f *fixture) as(t *testing.T, dn, pw string) *who {
	t.Helper()
	w, res := f.b.bind(context.Background(), "127.0.0.1", dn, []byte(pw))
	if res.code != 0 {
		t.Fatalf("bind %s: %d %s", dn, res.code, res.msg)
	}
	return w
}

type found struct {
	dn    string
	attrs map[string][]string
}

func (f *fixture) search(t *testing.T, w *who, base string, scope int, filter string, attrs ...string) ([]found, opResult) {
	t.Helper()
	p, err := ldap.CompileFilter(filter)
	if err != nil {
		t.Fatalf("compile %s: %v", filter, err)
	}
	flt, err := decodeFilter(p)
	if err != nil {
		t.Fatalf("decode %s: %v", filter, err)
	}
	var out []found
	res := f.b.search(context.Background(), w, &searchQuery{base: base, scope: scope, filter: flt, attrs: attrs, owner: t}, func(dn string, as []outAttr) error {
		m := map[string][]string{}
		for _, a := range as {
			m[a.name] = a.values
		}
		out = append(out, found{dn, m})
		return nil
	})
	return out, res
}

func dns(fs []found) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.dn)
	}
	slices.Sort(out)
	return out
}

func TestEngineFilters(t *testing.T) {
	f := newFixture(t, Access{})
	w := f.as(t, "cn=reader,ou=services,dc=example,dc=com", "reader-password")
	const base = "dc=example,dc=com"
	cases := []struct {
		filter string
		want   []string
	}{
		{"(uid=alice)", []string{"uid=alice,ou=people,dc=example,dc=com"}},
		{"(UID=ALICE)", []string{"uid=alice,ou=people,dc=example,dc=com"}},
		{"(&(objectClass=posixAccount)(uid=alice)(uid=*)(&(uidNumber=*)(!(uidNumber=0))))", []string{"uid=alice,ou=people,dc=example,dc=com"}},
		{"(&(objectclass=posixGroup)(|(memberUid=bob)(member=uid=bob,ou=people,dc=example,dc=com)))", []string{"cn=bob,ou=groups,dc=example,dc=com", "cn=staff,ou=groups,dc=example,dc=com"}},
		{"(uniqueMember=UID=Alice, OU=People, DC=example, DC=com)", []string{"cn=alice,ou=groups,dc=example,dc=com", "cn=staff,ou=groups,dc=example,dc=com"}},
		{"(memberOf=cn=staff,ou=groups,dc=example,dc=com)", []string{"uid=alice,ou=people,dc=example,dc=com", "uid=bob,ou=people,dc=example,dc=com"}},
		{"(memberOf:1.2.840.113556.1.4.1941:=cn=everyone,ou=groups,dc=example,dc=com)", []string{"cn=staff,ou=groups,dc=example,dc=com", "uid=alice,ou=people,dc=example,dc=com", "uid=bob,ou=people,dc=example,dc=com", "uid=carol,ou=people,dc=example,dc=com"}},
		{"(member:1.2.840.113556.1.4.1941:=uid=alice,ou=people,dc=example,dc=com)", []string{"cn=everyone,ou=groups,dc=example,dc=com", "cn=staff,ou=groups,dc=example,dc=com"}},
		{"(uidNumber>=10002)", []string{"uid=bob,ou=people,dc=example,dc=com", "uid=carol,ou=people,dc=example,dc=com"}},
		{"(uidNumber<=10001)", []string{"uid=alice,ou=people,dc=example,dc=com"}},
		{"(sudoHost=*\\2A*)", nil},
		{"(objectClass=pwdPolicy)", nil},
		{"(&(objectClass=person)(|(uid=ali*)(mail=*@example.com))(!(fooBar=x)))", nil},
		{"(cn~=alice liddel)", nil},
		// alice's primary group is her private group; no group shares its number.
		{"(gidNumber=10001)", []string{"cn=alice,ou=groups,dc=example,dc=com", "uid=alice,ou=people,dc=example,dc=com"}},
		{"(mail=*builder*)", nil},
		{"(sn=*uild*)", []string{"uid=bob,ou=people,dc=example,dc=com"}},
		// memberUid matches case-exactly after the space rules, from the
		// index (inside an AND) and from a scan alike.
		{"(&(objectClass=posixGroup)(memberUid=BOB))", nil},
		{"(|(memberUid=BOB)(sn=nobody))", nil},
		{"(&(objectClass=posixGroup)(memberUid= bob ))", []string{"cn=bob,ou=groups,dc=example,dc=com", "cn=staff,ou=groups,dc=example,dc=com"}},
		{"(|(memberUid= bob )(sn=nobody))", []string{"cn=bob,ou=groups,dc=example,dc=com", "cn=staff,ou=groups,dc=example,dc=com"}},
		// A group's own memberOf, from the index and from a scan.
		{"(&(objectClass=posixGroup)(memberOf=cn=everyone,ou=groups,dc=example,dc=com))", []string{"cn=staff,ou=groups,dc=example,dc=com"}},
		{"(|(memberOf=cn=everyone,ou=groups,dc=example,dc=com)(sn=nobody))", []string{"cn=staff,ou=groups,dc=example,dc=com", "uid=carol,ou=people,dc=example,dc=com"}},
		{"(createTimestamp>=20000101000000Z)", nil}, // filled below
	}
	for _, c := range cases[:len(cases)-1] {
		got, res := f.search(t, w, base, scopeSub, c.filter)
		if res.code != 0 {
			t.Errorf("%s: result %d %s", c.filter, res.code, res.msg)
			continue
		}
		if !slices.Equal(dns(got), c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.filter, dns(got), c.want)
		}
	}
	staff, _ := f.search(t, w, base, scopeSub, "(cn=staff)")
	if len(staff) != 1 || !slices.Equal(staff[0].attrs["memberOf"], []string{"cn=everyone,ou=groups,dc=example,dc=com"}) {
		t.Errorf("staff's memberOf: %v", staff)
	}
	all, _ := f.search(t, w, base, scopeSub, "(createTimestamp>=20000101000000Z)")
	if len(all) < 10 {
		t.Errorf("generalized time ordering matched %d entries", len(all))
	}
}
