package etcdstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/atrium-dir/atrium/directory"
)

// TestCompactionPastPausedWatch stops a node's watch, lets another node
// write, compacts etcd past the first node's mirror, and resumes: the
// mirror must reload and then equal a direct range read at its revision.
func TestCompactionPastPausedWatch(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli := newClient(t, 0)
	prefix := freshPrefix()
	s := openStore(t, cli, prefix)
	w := openStore(t, newClient(t, 1), prefix)
	for i := range 5 {
		must(t, s.Update(ctx, put("kv", fmt.Sprint("k", i), "old")))
	}
	s.pauseWatch()
	must(t, w.Update(ctx, func(tx directory.Tx) error {
		must(t, tx.Delete("kv", "k0"))
		must(t, tx.Put("kv", "k1", []byte("new")))
		return tx.Put("other", "x", []byte("new"))
	}))
	// Later revisions, so that the compaction removes the one the watch
	// resumes from.
	for i := range 3 {
		must(t, w.Update(ctx, put("kv", "k3", fmt.Sprint("v", i))))
	}
	head, err := cli.Get(ctx, "/")
	must(t, err)
	_, err = cli.Compact(ctx, head.Header.Revision, clientv3.WithCompactPhysical())
	must(t, err)

	reloads := s.reloads.Load()
	s.startWatch()
	must(t, s.Sync(ctx))
	if s.reloads.Load() == reloads {
		t.Fatal("the mirror did not reload after its watch was compacted")
	}
	mirrorEqualsEtcd(t, s)

	// The reloaded mirror goes on following.
	must(t, w.Update(ctx, put("kv", "k2", "newer")))
	must(t, s.Sync(ctx))
	if v, err := getString(t, s, "kv", "k2"); err != nil || v != "newer" {
		t.Fatalf("after the reload k2 = %q, %v", v, err)
	}
	mirrorEqualsEtcd(t, s)
}

// mirrorEqualsEtcd compares s's snapshot with etcd at the same revision.
func mirrorEqualsEtcd(t *testing.T, s *Store) {
	t.Helper()
	sn := s.snap.Load()
	resp, err := s.cli.Get(context.Background(), s.data, clientv3.WithPrefix(), clientv3.WithRev(sn.rev))
	must(t, err)
	want := map[string]string{}
	for _, kv := range resp.Kvs {
		want[string(kv.Key[len(s.data):])] = string(kv.Value)
	}
	got := map[string]string{}
	sn.tree.Scan(func(k string, v []byte) bool { got[k] = string(v); return true })
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("mirror at revision %d:\n%v\netcd:\n%v", sn.rev, got, want)
	}
}
