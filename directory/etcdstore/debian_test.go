package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/etcdstore/etcdtest"
	"github.com/atrium-dir/atrium/directory/storetest"
)

// TestDebianEtcd runs the conformance suite, racing creates on two nodes
// and a compaction past a paused watch against Debian's etcd.
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
	t.Run("RacingCreates", func(t *testing.T) {
		ctx := context.Background()
		prefix := freshPrefix()
		a, b := openStore(t, dial(t, clients[0]), prefix), openStore(t, dial(t, clients[1]), prefix)
		for i := range 20 {
			key := "same" + strconv.Itoa(i)
			wins := 0
			var mu sync.Mutex
			var wg sync.WaitGroup
			for _, s := range []*Store{a, b} {
				wg.Go(func() {
					err := s.Update(ctx, func(tx directory.Tx) error {
						if _, err := tx.Get("kv", key); err == nil {
							return directory.ErrAlreadyExists
						}
						return tx.Put("kv", key, nil)
					})
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						wins++
					} else if !errors.Is(err, directory.ErrAlreadyExists) {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if wins != 1 {
				t.Fatalf("round %d: %d nodes created the same key", i, wins)
			}
		}
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
