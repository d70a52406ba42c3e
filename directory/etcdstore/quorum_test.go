package etcdstore

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestQuorumLoss stops two of three members: Views go on from the mirror,
// writes and Sync fail with ErrUnavailable instead of hanging, and once
// the members are back, writes resume and the mirror follows again.
func TestQuorumLoss(t *testing.T) {
	c, err := startCluster(t.TempDir(), 3)
	t.Cleanup(c.close)
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, c.client(t, 0), Options{RequestTimeout: time.Second})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	must(t, s.Update(ctx, put("kv", "k", "before")))

	c.stop(1)
	c.stop(2)
	if v, err := getString(t, s, "kv", "k"); err != nil || v != "before" {
		t.Fatalf("View without quorum = %q, %v", v, err)
	}
	if err := s.Update(ctx, put("kv", "k", "during")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Update without quorum = %v, want ErrUnavailable", err)
	}
	if err := s.Sync(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Sync without quorum = %v, want ErrUnavailable", err)
	}

	for _, i := range []int{1, 2} {
		must(t, c.start(i))
	}
	for _, i := range []int{1, 2} {
		must(t, c.ready(i))
	}
	for {
		err := s.Update(ctx, put("kv", "k", "after"))
		if err == nil {
			break
		}
		if !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			t.Fatalf("Update after quorum came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if v, err := getString(t, s, "kv", "k"); err != nil || v != "after" {
		t.Fatalf("View after quorum came back = %q, %v", v, err)
	}
}
