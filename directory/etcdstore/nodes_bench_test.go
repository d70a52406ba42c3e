package etcdstore

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/ldapserver"
	"github.com/atrium-dir/atrium/ldif"
)

// The benchmarks here report cpu-ns/op: the CPU time of the whole test
// process (client, Atrium and the in-process etcd members) per operation,
// since the machine's two cores make wall time a poor guide.

const benchUsers = 1000

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loopCPU runs op in b.Loop and reports its CPU per operation.
func loopCPU(b *testing.B, op func(i int) error) {
	start := processCPU()
	i := 0
	for b.Loop() {
		if err := op(i); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}

func benchDirectory(b *testing.B, s directory.Store) *directory.Directory {
	ctx := context.Background()
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

func benchBolt(b *testing.B) directory.Store {
	s, err := boltstore.Open(filepath.Join(b.TempDir(), "atrium.db"), 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func fillUsers(b *testing.B, d *directory.Directory) {
	ctx := context.Background()
	for i := range benchUsers {
		uid := fmt.Sprintf("user%04d", i)
		if _, err := d.CreateUser(ctx, directory.User{UID: uid, Mail: uid + "@example.com"}); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.SetPassword(ctx, "user0001", "bench password 1"); err != nil {
		b.Fatal(err)
	}
}

// serveLDAP serves d over LDAP on loopback and returns a connection.
func serveLDAP(b *testing.B, d *directory.Directory) *ldap.Conn {
	layout, err := ldif.NewLayout("dc=example,dc=com")
	if err != nil {
		b.Fatal(err)
	}
	srv := &ldapserver.Server{Backend: ldapserver.NewBackend(ldapserver.BackendConfig{Directory: d, Layout: layout, Logger: slog.New(slog.DiscardHandler)})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	conn, err := ldap.DialURL("ldap://" + ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	if err := conn.Bind("uid=user0001,ou=people,dc=example,dc=com", "bench password 1"); err != nil {
		b.Fatal(err)
	}
	return conn
}

// BenchmarkLDAPOnEtcd compares an LDAP uid search and a bind (answered
// from the verified-bind cache after the first; on etcd each bind first
// checks with the cluster that the node's copy is current) on a node
// over bbolt and one over etcd.
func BenchmarkLDAPOnEtcd(b *testing.B) {
	for _, kind := range []string{"bolt", "etcd"} {
		var s directory.Store
		if kind == "bolt" {
			s = benchBolt(b)
		} else {
			s = openStore(b, newClient(b), freshPrefix())
		}
		d := benchDirectory(b, s)
		fillUsers(b, d)
		conn := serveLDAP(b, d)
		b.Run("search/"+kind, func(b *testing.B) {
			loopCPU(b, func(i int) error {
				uid := fmt.Sprintf("user%04d", (i*7919)%benchUsers)
				res, err := conn.Search(ldap.NewSearchRequest("ou=people,dc=example,dc=com", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
					0, 0, false, "(uid="+uid+")", []string{"uid", "uidNumber", "mail"}, nil))
				if err == nil && len(res.Entries) != 1 {
					err = fmt.Errorf("%d entries for %s", len(res.Entries), uid)
				}
				return err
			})
		})
		b.Run("bind/"+kind, func(b *testing.B) {
			loopCPU(b, func(int) error { return conn.Bind("uid=user0001,ou=people,dc=example,dc=com", "bench password 1") })
		})
	}
}

// BenchmarkCreateUser is the latency (ns/op) of creating one user on a
// node over bbolt and over a three-member etcd cluster.
func BenchmarkCreateUser(b *testing.B) {
	for _, kind := range []string{"bolt", "etcd"} {
		b.Run(kind, func(b *testing.B) {
			var s directory.Store
			if kind == "bolt" {
				s = benchBolt(b)
			} else {
				s = openStore(b, newClient(b), freshPrefix())
			}
			d := benchDirectory(b, s)
			ctx := context.Background()
			loopCPU(b, func(i int) error {
				uid := fmt.Sprintf("new%06d", i)
				_, err := d.CreateUser(ctx, directory.User{UID: uid, Mail: uid + "@example.com"})
				return err
			})
		})
	}
}

// BenchmarkReadNodes spreads user lookups over 1, 2 and 3 nodes on one
// cluster, run in parallel: CPU per op shows what each added node costs
// (its mirror and watch) for the same reads.
func BenchmarkReadNodes(b *testing.B) {
	prefix := freshPrefix()
	var dirs []*directory.Directory
	var stores []*Store
	for n := range 3 {
		stores = append(stores, openStore(b, newClient(b, n), prefix))
		dirs = append(dirs, benchDirectory(b, stores[n]))
	}
	fillUsers(b, dirs[0])
	for _, s := range stores[1:] {
		if err := s.Sync(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	for n := 1; n <= 3; n++ {
		b.Run(fmt.Sprintf("%dnodes", n), func(b *testing.B) {
			ctx := context.Background()
			loopCPU(b, func(i int) error {
				_, err := dirs[i%n].User(ctx, fmt.Sprintf("user%04d", (i*7919)%benchUsers))
				return err
			})
		})
	}
}
