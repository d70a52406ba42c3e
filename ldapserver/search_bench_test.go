package ldapserver

import (
	"context"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"
)

// benchSearch runs one search over and over as the reader account, each
// entry encoded as the wire would send it.
func benchSearch(b *testing.B, filter string, attrs []string) {
	f := newFixture(b, Access{})
	w, res := f.b.bind(context.Background(), "127.0.0.1", readerDN, []byte("reader-password"))
	if res.code != 0 {
		b.Fatalf("bind: %d %s", res.code, res.msg)
	}
	p, err := ldap.CompileFilter(filter)
	if err != nil {
		b.Fatal(err)
	}
	flt, err := decodeFilter(p)
	if err != nil {
		b.Fatal(err)
	}
	q := &searchQuery{base: base, scope: scopeSub, filter: flt, attrs: attrs, owner: b}
	n := 0
	send := func(dn string, as []outAttr) error {
		n += len(entryMessage(7, dn, as))
		return nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if res := f.b.search(context.Background(), w, q, send); res.code != 0 {
			b.Fatalf("search: %d %s", res.code, res.msg)
		}
	}
	if n == 0 {
		b.Fatal("no entries")
	}
}

// BenchmarkSearchUID is nslcd's lookup of a login name: the hot path.
func BenchmarkSearchUID(b *testing.B) {
	benchSearch(b, "(&(objectClass=posixAccount)(uid=alice))",
		[]string{"uid", "userPassword", "uidNumber", "gidNumber", "cn", "homeDirectory", "loginShell", "gecos", "objectClass"})
}

// BenchmarkSearchSubtree lists every entry of the fixture.
func BenchmarkSearchSubtree(b *testing.B) {
	benchSearch(b, "(objectClass=*)", nil)
}
