package ldapserver

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
)

// benchSearch runs one search over and over as the reader account, each
// entry encoded as the wire would send it.
func benchSearch(b *testing.B, filter string, attrs []string) {
	benchSearchOn(b, newFixture(b, Access{}), filter, attrs)
}

// benchSearchOn is benchSearch on the directory of f.
func benchSearchOn(b *testing.B, f *fixture, filter string, attrs []string) {
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

// BenchmarkPagedListing lists 10,000 users in pages of 1,000 with uid and
// mail, as Proxmox, Nextcloud and Duo sync do.
func BenchmarkPagedListing(b *testing.B) {
	f := newFixture(b, Access{})
	err := f.dir.Batch(context.Background(), func(bt *directory.Batch) error {
		for i := range 10_000 {
			uid := fmt.Sprintf("user%05d", i)
			u := directory.User{UID: uid, Mail: uid + "@example.com", GivenName: "User", Surname: uid}
			if _, err := bt.CreateUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	w, res := f.b.bind(context.Background(), "127.0.0.1", readerDN, []byte("reader-password"))
	if res.code != 0 {
		b.Fatalf("bind: %d %s", res.code, res.msg)
	}
	p, err := ldap.CompileFilter("(&(objectClass=posixAccount)(uid=*))")
	if err != nil {
		b.Fatal(err)
	}
	flt, err := decodeFilter(p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	began := cpuTime()
	for b.Loop() {
		n := 0
		send := func(dn string, as []outAttr) error {
			entryMessage(7, dn, as)
			n++
			return nil
		}
		paging := &ldap.ControlPaging{PagingSize: 1000}
		for {
			q := &searchQuery{base: peopleDN, scope: scopeOne, filter: flt, attrs: []string{"uid", "mail"}, owner: b, paging: paging}
			res := f.b.search(context.Background(), w, q, send)
			if res.code != 0 {
				b.Fatalf("search: %d %s", res.code, res.msg)
			}
			cookie := res.controls[0].(*ldap.ControlPaging).Cookie
			if len(cookie) == 0 {
				break
			}
			paging = &ldap.ControlPaging{PagingSize: 1000, Cookie: cookie}
		}
		if n != 10_003 {
			b.Fatalf("listed %d users, want 10003", n)
		}
	}
	b.ReportMetric(float64((cpuTime()-began).Microseconds())/float64(b.N), "cpu-µs/op")
}

// cpuTime is the process's CPU time, user and system: on a loaded machine
// it says more than the time on the clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPrefixSearch is a search-as-you-type among 10,000 users: one
// full uid as the prefix of uid, mail and cn, from the base of the tree.
func BenchmarkPrefixSearch(b *testing.B) {
	f := newFixture(b, Access{})
	err := f.dir.Batch(context.Background(), func(bt *directory.Batch) error {
		for i := range 10_000 {
			uid := fmt.Sprintf("user%05d", i)
			if _, err := bt.CreateUser(directory.User{UID: uid, Mail: uid + "@example.com", GivenName: "User", Surname: uid}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	benchSearchOn(b, f, "(|(uid=user01234*)(mail=user01234*)(cn=user01234*))", []string{"uid", "mail", "cn"})
}
