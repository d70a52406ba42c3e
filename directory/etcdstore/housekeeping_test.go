package etcdstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// TestHousekeepingInChunks: work that writes more keys than one etcd
// transaction carries is split: 300 audit events flushed at once (600
// keys with their index) are all stored, pruning them once they are past
// retention deletes them all, and sweeping 300 expired state records
// deletes them all. In one transaction each would fail with
// ErrTxnTooLarge.
func TestHousekeepingInChunks(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, newClient(t), freshPrefix())
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	d, err := directory.New(ctx, s, directory.Options{Now: func() time.Time { return now }})
	must(t, err)
	for i := range 300 {
		d.Audit(directory.AuditEvent{Kind: "login", Subject: fmt.Sprintf("user%d", i), Result: "ok"})
	}
	events, err := d.AuditEvents(ctx, directory.AuditQuery{})
	must(t, err)
	if len(events) != 300 {
		t.Fatalf("%d audit events stored of 300", len(events))
	}
	for i := range 300 {
		must(t, d.PutState(ctx, "flow", fmt.Sprint(i), i, t0.Add(time.Minute)))
	}
	now = t0.Add(time.Hour)
	if n, err := d.SweepState(ctx); err != nil || n != 300 {
		t.Fatalf("SweepState = %d, %v; want 300 swept", n, err)
	}
	must(t, d.Close())

	now = t0.Add(100 * 24 * time.Hour) // past the default retention of 90 days
	later, err := directory.New(ctx, s, directory.Options{Now: func() time.Time { return now }})
	must(t, err)
	defer later.Close()
	events, err = later.AuditEvents(ctx, directory.AuditQuery{})
	must(t, err)
	if len(events) != 0 {
		t.Fatalf("%d audit events left after pruning, want 0", len(events))
	}
	var left int
	must(t, s.View(ctx, func(tx directory.Tx) error {
		for _, b := range []string{"state", "ix.auditby"} {
			if err := tx.Scan(b, "", "", func(string, []byte) error { left++; return nil }); err != nil {
				return err
			}
		}
		return nil
	}))
	if left != 0 {
		t.Fatalf("%d state or audit index records left", left)
	}
}
