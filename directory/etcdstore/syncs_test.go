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

// heldKV lets its first read reach etcd and then holds the answer back
// until release is closed, as a slow reply would.
type heldKV struct {
	clientv3.KV
	gets    atomic.Int32
	read    chan struct{} // closed once the first read has its answer
	release chan struct{}
}

func (k *heldKV) Get(ctx context.Context, key string, opts ...clientv3.OpOption) (*clientv3.GetResponse, error) {
	resp, err := k.KV.Get(ctx, key, opts...)
	if k.gets.Add(1) == 1 {
		close(k.read)
		<-k.release
	}
	return resp, err
}

// TestSyncNeverSharesAnOlderRead: a Sync that arrives while a read sent
// before it is in flight does not take that read's answer, which cannot
// know of a commit made in between; it waits for a read of its own and
// then for the mirror to hold that commit.
func TestSyncNeverSharesAnOlderRead(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	held := &heldKV{KV: b.kv, read: make(chan struct{}), release: make(chan struct{})}
	b.kv = held
	first := make(chan error, 1)
	go func() { first <- b.Sync(ctx) }()
	<-held.read
	b.pauseWatch() // B's mirror cannot catch up on its own meanwhile
	must(t, a.Update(ctx, put("kv", "k", "after the first read")))
	second := make(chan error, 1)
	go func() { second <- b.Sync(ctx) }()
	time.Sleep(50 * time.Millisecond) // the second Sync arrives during the first read
	close(held.release)
	must(t, <-first)
	select {
	case err := <-second:
		v, _ := getString(t, b, "kv", "k")
		t.Fatalf("the second Sync returned (%v) before B's mirror held A's commit (reads %q): it took the older read's answer", err, v)
	case <-time.After(300 * time.Millisecond):
	}
	b.startWatch()
	must(t, <-second)
	if v, err := getString(t, b, "kv", "k"); err != nil || v != "after the first read" {
		t.Fatalf("after the second Sync B reads %q, %v", v, err)
	}
}
