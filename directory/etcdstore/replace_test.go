package etcdstore

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// TestReplaceStoppedAndRerun copies 3,000 records (many transactions)
// over a keyspace holding stale records, stops the copy partway, and runs
// it again: the keyspace is marked incomplete in between and equals the
// source afterwards.
func TestReplaceStoppedAndRerun(t *testing.T) {
	s := openStore(t, newClient(t), freshPrefix())
	ctx := context.Background()
	must(t, s.Update(ctx, put("users", "stale", "old")))
	must(t, s.Update(ctx, put("users", "u0001", "old value")))
	want := map[string]string{}
	for i := range 3000 {
		want[fmt.Sprintf("users\x00u%04d", i)] = fmt.Sprintf("record %d", i)
	}
	src := func(fn func(bucket, key string, value []byte) error) error {
		for i := range 3000 {
			if err := fn("users", fmt.Sprintf("u%04d", i), fmt.Appendf(nil, "record %d", i)); err != nil {
				return err
			}
		}
		return nil
	}

	stopped, stop := context.WithCancel(ctx)
	err := s.Replace(stopped, src, func(done int) {
		if done >= 1000 {
			stop()
		}
	})
	if err == nil || !s.Incomplete() {
		t.Fatalf("stopped Replace: %v, incomplete %v; want an error and the marker", err, s.Incomplete())
	}
	must(t, s.Replace(ctx, src, nil))
	if s.Incomplete() {
		t.Fatal("finished Replace left the marker")
	}
	got := map[string]string{}
	must(t, s.View(ctx, func(tx directory.Tx) error {
		for _, b := range []string{"users", "meta"} {
			if err := tx.Scan(b, "", "", func(k string, v []byte) error {
				got[b+"\x00"+k] = string(v)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	}))
	if !maps.Equal(got, want) {
		t.Fatalf("after the rerun the keyspace has %d records, want the source's %d", len(got), len(want))
	}
}
