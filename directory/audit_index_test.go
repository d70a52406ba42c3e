package directory_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/directory/password"
)

func auditSubjects(events []directory.AuditEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Subject+"/"+e.Detail)
	}
	return out
}

func indexKeys(t *testing.T, s directory.Store) []string {
	t.Helper()
	var keys []string
	must(t, s.View(context.Background(), func(tx directory.Tx) error {
		return tx.Scan("ix.auditby", "", "", func(k string, _ []byte) error {
			keys = append(keys, k)
			return nil
		})
	}))
	return keys
}

// TestAuditBySubjectUsesIndex: one user's events come from the subject
// index (a handful of reads among thousands of other events), matched
// without regard to case, from the time asked; expired events leave the
// index with the log; and a schema 3 store gains the index.
func TestAuditBySubjectUsesIndex(t *testing.T) {
	ctx := context.Background()
	clock := dirtest.NewClock(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC))
	store := &readCounter{Store: openStore(t, filepath.Join(t.TempDir(), "atrium.db"))}
	t.Cleanup(func() { store.Close() })
	open := func() *directory.Directory {
		d, err := directory.New(ctx, store, directory.Options{Now: clock.Now, PasswordParams: password.TestParams, AuditRetention: 48 * time.Hour})
		must(t, err)
		return d
	}
	d := open()
	d.Audit(directory.AuditEvent{Kind: "login", Subject: "alice", Result: directory.ResultOK, Detail: "old"})
	clock.Advance(25 * time.Hour)
	for i := range 3000 {
		d.Audit(directory.AuditEvent{Kind: "login", Subject: fmt.Sprintf("user%04d", i), Result: directory.ResultOK})
	}
	d.Audit(directory.AuditEvent{Kind: "login", Subject: "Alice", Result: directory.ResultOK, Detail: "1"})
	d.Audit(directory.AuditEvent{Kind: "mfa", Subject: "alice", Result: directory.ResultOK, Detail: "2"})
	d.Audit(directory.AuditEvent{Kind: "login", Subject: "alice2", Result: directory.ResultOK, Detail: "not alice"})
	d.Audit(directory.AuditEvent{Kind: "login", Subject: "alice@example.com", Result: directory.ResultOK, Detail: "by mail"})

	query := func(q directory.AuditQuery) ([]string, int64) {
		t.Helper()
		if _, err := d.AuditEvents(ctx, directory.AuditQuery{Kind: "flush"}); err != nil { // writes the batch
			t.Fatal(err)
		}
		store.reads.Store(0)
		events, err := d.AuditEvents(ctx, q)
		must(t, err)
		return auditSubjects(events), store.reads.Load()
	}
	got, reads := query(directory.AuditQuery{Subject: "ALICE"})
	if fmt.Sprint(got) != "[alice/old Alice/1 alice/2]" {
		t.Errorf("alice's events: %v", got)
	}
	if reads > 10 {
		t.Errorf("alice's events took %d reads: not from the index", reads)
	}
	if got, _ := query(directory.AuditQuery{Subject: "alice", Since: clock.Now().Add(-time.Hour)}); fmt.Sprint(got) != "[Alice/1 alice/2]" {
		t.Errorf("alice's events of the last hour: %v", got)
	}
	if got, _ := query(directory.AuditQuery{Subject: "alice", Kind: "mfa"}); fmt.Sprint(got) != "[alice/2]" {
		t.Errorf("alice's mfa events: %v", got)
	}
	if got, _ := query(directory.AuditQuery{Subject: "alice@EXAMPLE.com"}); fmt.Sprint(got) != "[alice@example.com/by mail]" {
		t.Errorf("events by mail: %v", got)
	}
	must(t, d.Close())

	// Past the retention, the first event goes, with its index entry.
	clock.Advance(24 * time.Hour)
	d = open()
	if got, _ := query(directory.AuditQuery{Subject: "alice"}); fmt.Sprint(got) != "[Alice/1 alice/2]" {
		t.Errorf("after the old event expired: %v", got)
	}
	if n := len(indexKeys(t, store)); n != 3004 {
		t.Errorf("%d index entries for 3,004 events", n)
	}
	must(t, d.Close())

	// A store as schema 3 left it, without the index.
	must(t, store.Update(ctx, func(tx directory.Tx) error {
		for _, k := range indexKeys(t, store) {
			if err := tx.Delete("ix.auditby", k); err != nil {
				return err
			}
		}
		return tx.Put("meta", "schema", []byte("3"))
	}))
	d = open()
	t.Cleanup(func() { d.Close() })
	if got, _ := query(directory.AuditQuery{Subject: "alice"}); fmt.Sprint(got) != "[Alice/1 alice/2]" {
		t.Errorf("after the migration: %v", got)
	}
}
