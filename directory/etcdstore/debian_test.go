package etcdstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/etcdstore/etcdtest"
	"github.com/atrium-dir/atrium/directory/storetest"
)

// TestDebianEtcd runs against Debian's etcd what the other tests of the
// package run on the embedded cluster: the conformance suite, the same
// uid created on two nodes 100 times (TestSameUIDOnTwoNodes), 1,000
// numbers allocated across nodes (TestUIDNumbersAcrossNodes), backoff
// counting both nodes' failures (TestBackoffCountsFailuresOnBothNodes)
// and a compaction past a paused watch.
func TestDebianEtcd(t *testing.T) {
	clients := etcdtest.StartDebian(t)
	dial := func(t *testing.T, endpoints ...string) *clientv3.Client {
		cli, err := Dial(context.Background(), ClientConfig{Endpoints: endpoints})
		must(t, err)
		t.Cleanup(func() { cli.Close() })
		return cli
	}
	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) directory.Store {
			return openStore(t, dial(t, clients...), freshPrefix())
		})
	})
	// Two nodes, each through its own member, as in the embedded tests.
	nodes := func(t *testing.T) (*Store, *Store) {
		prefix := freshPrefix()
		return openStore(t, dial(t, clients[0]), prefix), openStore(t, dial(t, clients[1]), prefix)
	}
	t.Run("SameUID", func(t *testing.T) {
		sa, sb := nodes(t)
		a, b := directoriesOn(t, sa, sb)
		sameUIDRaces(t, a, b)
	})
	t.Run("UIDNumbers", func(t *testing.T) {
		sa, sb := nodes(t)
		a, b := directoriesOn(t, sa, sb)
		distinctNumbers(t, a, b)
	})
	t.Run("Backoff", func(t *testing.T) {
		sa, sb := nodes(t)
		backoffOnBothNodes(t, sa, sb)
	})
	t.Run("CompactionPastPausedWatch", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cli := dial(t, clients[0])
		prefix := freshPrefix()
		s, w := openStore(t, cli, prefix), openStore(t, dial(t, clients[1]), prefix)
		must(t, s.Update(ctx, put("kv", "k", "old")))
		s.pauseWatch()
		for i := range 3 {
			must(t, w.Update(ctx, put("kv", "k", fmt.Sprint("new", i))))
		}
		head, err := cli.Get(ctx, "/")
		must(t, err)
		_, err = cli.Compact(ctx, head.Header.Revision, clientv3.WithCompactPhysical())
		must(t, err)
		s.startWatch()
		must(t, s.Sync(ctx))
		if s.reloads.Load() != 1 {
			t.Fatalf("%d reloads after the watch was compacted, want 1", s.reloads.Load())
		}
		mirrorEqualsEtcd(t, s)
	})
}
