package etcdstore

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"
	clientv3 "go.etcd.io/etcd/client/v3"

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

// serveLDAP serves d over LDAP on loopback and returns its address.
func serveLDAP(b *testing.B, d *directory.Directory) string {
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
	return ln.Addr().String()
}

// bound is a connection to addr bound as user0001.
func bound(b *testing.B, addr string) *ldap.Conn {
	conn, err := ldap.DialURL("ldap://" + addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	if err := conn.Bind("uid=user0001,ou=people,dc=example,dc=com", "bench password 1"); err != nil {
		b.Fatal(err)
	}
	return conn
}

// benchStore is a store of kind bolt or etcd; an etcd one counts its
// linearizable reads in reads.
func benchStore(b *testing.B, kind string, reads *readCounter) directory.Store {
	if kind == "bolt" {
		return benchBolt(b)
	}
	s := openStore(b, newClient(b), freshPrefix())
	if reads != nil {
		reads.KV = s.kv
		s.kv = reads
	}
	return s
}

// readCounter counts the reads a Store sends to etcd.
type readCounter struct {
	clientv3.KV
	n atomic.Int64
}

func (r *readCounter) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	r.n.Add(1)
	return r.KV.Get(ctx, key, opts...)
}

// BenchmarkLDAPOnEtcd compares an LDAP uid search and a bind (answered
// from the verified-bind cache after the first; on etcd each bind first
// checks with the cluster that the node's copy is current) on a node
// over bbolt and one over etcd. Both nodes are filled before either is
// measured, so both run on the same heap and beside the same cluster,
// and each op runs on the two in turn, so that both see the same load
// from the rest of a shared machine: it reports the CPU per op of each
// (bolt-cpu-ns/op, etcd-cpu-ns/op) and their ratio (etcd/bolt).
func BenchmarkLDAPOnEtcd(b *testing.B) {
	conns := map[string]*ldap.Conn{}
	for _, kind := range []string{"bolt", "etcd"} {
		d := benchDirectory(b, benchStore(b, kind, nil))
		fillUsers(b, d)
		conns[kind] = bound(b, serveLDAP(b, d))
	}
	b.Run("search", func(b *testing.B) {
		side(b, conns, func(conn *ldap.Conn, i int) error {
			uid := fmt.Sprintf("user%04d", (i*7919)%benchUsers)
			res, err := conn.Search(ldap.NewSearchRequest("ou=people,dc=example,dc=com", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
				0, 0, false, "(uid="+uid+")", []string{"uid", "uidNumber", "mail"}, nil))
			if err == nil && len(res.Entries) != 1 {
				err = fmt.Errorf("%d entries for %s", len(res.Entries), uid)
			}
			return err
		})
	})
	b.Run("bind", func(b *testing.B) {
		side(b, conns, func(conn *ldap.Conn, _ int) error {
			return conn.Bind("uid=user0001,ou=people,dc=example,dc=com", "bench password 1")
		})
	})
}

// side runs op on the bolt and the etcd connection in turn, in blocks of
// sideBlock ops (each block's CPU read once), the first of each pair
// alternating, and reports each one's CPU per op and their ratio.
func side(b *testing.B, conns map[string]*ldap.Conn, op func(conn *ldap.Conn, i int) error) {
	const sideBlock = 50
	cpu := map[string]time.Duration{}
	block := func(kind string, from int) {
		start := processCPU()
		for i := from; i < from+sideBlock; i++ {
			if err := op(conns[kind], i); err != nil {
				b.Fatal(err)
			}
		}
		cpu[kind] += processCPU() - start
	}
	n := 0
	for b.Loop() {
		first, second := "bolt", "etcd"
		if n%2 == 1 {
			first, second = second, first
		}
		block(first, n*sideBlock)
		block(second, n*sideBlock)
		n++
	}
	ops := float64(n * sideBlock)
	b.ReportMetric(float64(cpu["bolt"])/ops, "bolt-cpu-ns/op")
	b.ReportMetric(float64(cpu["etcd"])/ops, "etcd-cpu-ns/op")
	b.ReportMetric(float64(cpu["etcd"])/float64(cpu["bolt"]), "etcd/bolt")
}

// BenchmarkConcurrentBinds binds from 16 connections at once. On etcd
// binds waiting for the freshness check share linearizable reads
// (reads/op is below 1); on bbolt there is none.
func BenchmarkConcurrentBinds(b *testing.B) {
	for _, kind := range []string{"bolt", "etcd"} {
		reads := &readCounter{}
		d := benchDirectory(b, benchStore(b, kind, reads))
		fillUsers(b, d)
		addr := serveLDAP(b, d)
		conns := make(chan *ldap.Conn, 16)
		for range cap(conns) {
			conns <- bound(b, addr)
		}
		b.Run(kind, func(b *testing.B) {
			b.SetParallelism(cap(conns) / runtime.GOMAXPROCS(0))
			start, read0 := processCPU(), reads.n.Load()
			b.RunParallel(func(pb *testing.PB) {
				conn := <-conns
				defer func() { conns <- conn }()
				for pb.Next() {
					if err := conn.Bind("uid=user0001,ou=people,dc=example,dc=com", "bench password 1"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(reads.n.Load()-read0)/float64(b.N), "reads/op")
		})
	}
}

// BenchmarkCreateUser is the latency (ns/op) of creating one user on a
// node over bbolt and over a three-member etcd cluster.
func BenchmarkCreateUser(b *testing.B) {
	for _, kind := range []string{"bolt", "etcd"} {
		b.Run(kind, func(b *testing.B) {
			d := benchDirectory(b, benchStore(b, kind, nil))
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
