package etcdstore

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory/etcdstore/etcdtest"
	"github.com/atrium-dir/atrium/internal/testenv"
)

// TestQuorumLoss stops two of three members: Views go on from the mirror,
// writes and Sync fail with ErrUnavailable instead of hanging, the watch
// on the member left without a leader ends (WithRequireLeader; without
// it the member would keep the stream open and silent) and says so in
// the log, and once the members are back, writes resume and the mirror
// follows again.
func TestQuorumLoss(t *testing.T) {
	c, err := etcdtest.Start(t.TempDir(), 3)
	t.Cleanup(c.Close)
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := &testenv.Output{}
	s, err := Open(ctx, clientOf(t, c, 0), Options{RequestTimeout: time.Second, Logger: slog.New(slog.NewTextHandler(log, nil))})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	must(t, s.Update(ctx, put("kv", "k", "before")))

	c.StopMember(1)
	c.StopMember(2)
	if v, err := getString(t, s, "kv", "k"); err != nil || v != "before" {
		t.Fatalf("View without quorum = %q, %v", v, err)
	}
	if err := s.Update(ctx, put("kv", "k", "during")); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Update without quorum = %v, want ErrUnavailable", err)
	}
	if err := s.Sync(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Sync without quorum = %v, want ErrUnavailable", err)
	}
	if h := s.Health(ctx); !errors.Is(h.Err, ErrUnavailable) {
		t.Fatalf("Health without quorum = %+v, want ErrUnavailable", h)
	}
	for !strings.Contains(log.String(), "etcd watch interrupted") {
		if ctx.Err() != nil {
			t.Fatalf("the watch on a member without a leader goes on; log:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}

	for _, i := range []int{1, 2} {
		must(t, c.StartMember(i))
	}
	for _, i := range []int{1, 2} {
		must(t, c.Ready(i))
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

// TestHealth: with quorum the mirror is level with the newest commit; a
// held-back mirror shows lag; without quorum Err says unavailable.
func TestHealth(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	must(t, a.Update(ctx, put("kv", "k", "1")))
	must(t, b.Sync(ctx))
	if h := b.Health(ctx); h.Err != nil || h.Lag != 0 || h.CommitRevision == 0 {
		t.Fatalf("healthy node: %+v", h)
	}
	b.pauseWatch()
	must(t, a.Update(ctx, put("kv", "k", "2")))
	if h := b.Health(ctx); h.Err != nil || h.Lag == 0 {
		t.Fatalf("held-back mirror: %+v, want lag", h)
	}
	b.startWatch()
	must(t, b.Sync(ctx))
	if h := b.Health(ctx); h.Lag != 0 {
		t.Fatalf("caught-up mirror: %+v", h)
	}
}
