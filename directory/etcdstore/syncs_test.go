package etcdstore

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// countingKV counts reads and holds the first one back a moment, so
// that the other callers arrive while it is in flight.
type countingKV struct {
	clientv3.KV
	gets atomic.Int32
}

func (k *countingKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	if k.gets.Add(1) == 1 {
		time.Sleep(50 * time.Millisecond)
	}
	return k.KV.Get(ctx, key, opts...)
}

// TestSyncsShareReads: 64 concurrent Syncs on node B, after a write on
// node A, all see the write, with a few reads between them.
func TestSyncsShareReads(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	counter := &countingKV{KV: b.kv}
	b.kv = counter
	must(t, a.Update(ctx, put("kv", "k", "v")))
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if err := b.Sync(ctx); err != nil {
				t.Error(err)
				return
			}
			if v, err := getString(t, b, "kv", "k"); err != nil || v != "v" {
				t.Errorf("after Sync B reads %q, %v", v, err)
			}
		})
	}
	wg.Wait()
	if n := counter.gets.Load(); n >= 64 {
		t.Errorf("64 Syncs made %d reads; they should share them", n)
	}
}
