package etcdstore

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// TestNotifyHearsEveryNode: node B's apply loop reports the records that
// node A and B itself change, and a reload as "anything changed".
func TestNotifyHearsEveryNode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := twoNodes(t)
	heard := make(chan []Change, 16)
	b.Notify(func(rev int64, changes []Change) {
		if rev != b.snap.Load().rev {
			t.Errorf("notified of revision %d before it was published", rev)
		}
		heard <- changes
	})
	expect := func(step string, want []Change) {
		t.Helper()
		select {
		case got := <-heard:
			if !slices.Equal(got, want) {
				t.Fatalf("%s: notified %v, want %v", step, got, want)
			}
		case <-ctx.Done():
			t.Fatalf("%s: no notification", step)
		}
	}
	must(t, a.Update(ctx, func(tx directory.Tx) error {
		must(t, tx.Put("users", "alice", []byte("1")))
		return tx.Put("index", "mail\x00alice@example.com", []byte("alice"))
	}))
	expect("A's create", []Change{{Bucket: "index", Key: "mail\x00alice@example.com"}, {Bucket: "users", Key: "alice"}})
	must(t, a.Update(ctx, func(tx directory.Tx) error { return tx.Delete("users", "alice") }))
	expect("A's delete", []Change{{Bucket: "users", Key: "alice"}})
	must(t, b.Update(ctx, put("users", "bob", "1")))
	expect("B's own write", []Change{{Bucket: "users", Key: "bob"}})

	b.pauseWatch()
	must(t, b.reload(ctx))
	b.startWatch()
	expect("reload", nil)
}
