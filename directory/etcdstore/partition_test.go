package etcdstore

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/atrium-dir/atrium/directory/etcdstore/etcdtest"
	"github.com/atrium-dir/atrium/internal/testenv"
)

// TestPartitionedMemberIsLeft cuts each member in turn off from the other
// two while node A, whose client lists all three, still reaches it: A's
// watch, Syncs and writes end up on that member in one of the rounds
// (the client spreads requests over its endpoints). A must leave it, and
// follow it again once it is back: a write made through node B, on the
// healthy members, reaches A's mirror, A's Sync succeeds and so do A's
// own writes. On the embedded cluster and on Debian's etcd 3.4.
func TestPartitionedMemberIsLeft(t *testing.T) {
	t.Run("Embedded", func(t *testing.T) {
		c, err := etcdtest.Start(t.TempDir(), 3)
		t.Cleanup(c.Close)
		must(t, err)
		leavesMemberCutOff(t, c, c.Endpoints)
	})
	t.Run("Debian", func(t *testing.T) {
		p := etcdtest.StartDebianSplittable(t)
		leavesMemberCutOff(t, p, p.Endpoints)
	})
}

// splittable is a cluster of three whose members a test can cut off.
type splittable interface {
	Partition(i int)
	Heal(i int)
	LeaderOf(i int) int
}

func leavesMemberCutOff(t *testing.T, c splittable, endpoints []string) {
	prefix := freshPrefix()
	log := &testenv.Output{}
	ctx := context.Background()
	cli := dialed(t, endpoints...)
	a, err := Open(ctx, cli, Options{Prefix: prefix, RequestTimeout: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(log, nil))})
	must(t, err)
	t.Cleanup(func() { a.Close() })
	for p := range 3 {
		healthy := []int{(p + 1) % 3, (p + 2) % 3}
		b := openStore(t, dialed(t, endpoints[healthy[0]], endpoints[healthy[1]]), prefix)
		c.Partition(p)
		waitFor(t, "member to lose its leader", func() bool { return c.LeaderOf(p) == -1 })
		waitFor(t, "the others to follow one of them", func() bool {
			l := c.LeaderOf(healthy[0])
			return l != -1 && l != p && l == c.LeaderOf(healthy[1])
		})
		for i := range 6 {
			v := fmt.Sprintf("B%d-%d", p, i)
			must(t, b.Update(ctx, put("kv", "b", v)))
			waitFor(t, "A's mirror to get "+v, func() bool { got, _ := getString(t, a, "kv", "b"); return got == v })
			if err := a.Sync(ctx); err != nil {
				t.Fatalf("m%d cut off: A's Sync: %v", p, err)
			}
			if err := a.Update(ctx, put("kv", "a", v)); err != nil {
				t.Fatalf("m%d cut off: A's write: %v", p, err)
			}
		}
		b.Close()
		c.Heal(p)
		waitFor(t, "member to rejoin", func() bool { return c.LeaderOf(p) != -1 })
	}
	if !strings.Contains(log.String(), "etcd member has no leader; following the others") {
		t.Errorf("no member was left; log:\n%s", log)
	}
	waitFor(t, "A to follow all members again", func() bool { return len(cli.Endpoints()) == 3 })
}

// dialed is a client of endpoints as a node dials it, closed when the test ends.
func dialed(t *testing.T, endpoints ...string) *clientv3.Client {
	cli, err := Dial(context.Background(), ClientConfig{Endpoints: endpoints})
	must(t, err)
	t.Cleanup(func() { cli.Close() })
	return cli
}

// waitFor polls cond for up to 10s, failing the test with what it waited for.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited 10s for %s", what)
		}
	}
}
