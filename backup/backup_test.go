package backup_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/backup"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/dirtest"
)

func newDirectory(t *testing.T, now func() time.Time) *directory.Directory {
	t.Helper()
	d := dirtest.New(t, now)
	ctx := context.Background()
	for _, uid := range []string{"alice", "bob"} {
		if _, err := d.CreateUser(ctx, directory.User{UID: uid, Mail: uid + "@example.com"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.CreateGroup(ctx, directory.Group{CN: "staff"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ChangeMembers(ctx, "staff", []directory.MemberRef{{Name: "alice"}, {Name: "bob"}}, nil); err != nil {
		t.Fatal(err)
	}
	return d
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// The schedule's clock jumps ahead by whatever it waits for, so a week of
// daily backups runs at once; the test stops it after the tenth wait.
func TestScheduleWritesBackupsAndPrunesBeyondKeep(t *testing.T) {
	clock := dirtest.NewClock(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC))
	d := newDirectory(t, clock.Now)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var waits []time.Duration
	var logs bytes.Buffer
	s := &backup.Schedule{
		Dir: dir, Keep: 3, Source: d, Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: clock.Now,
		After: func(wait time.Duration) <-chan time.Time {
			waits = append(waits, wait)
			if len(waits) == 10 {
				cancel()
			}
			clock.Advance(wait)
			ch := make(chan time.Time, 1)
			ch <- clock.Now()
			return ch
		},
	}
	s.Run(ctx)

	// A backup at once (none existed), then one each day after it.
	want := []string{"atrium-20261208T030000Z.db", "atrium-20261209T030000Z.db", "atrium-20261210T030000Z.db", "notes.txt"}
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Errorf("backup directory holds %v, want %v; log:\n%s", got, want, logs.String())
	}
	for _, w := range waits {
		if w != backup.DefaultEvery {
			t.Fatalf("waited %v between backups, want %v; log:\n%s", waits, backup.DefaultEvery, logs.String())
		}
	}
	for _, name := range want[:3] {
		if problems, err := backup.Verify(context.Background(), filepath.Join(dir, name)); err != nil || len(problems) > 0 {
			t.Errorf("%s does not verify: %v %v", name, problems, err)
		}
	}
	if !strings.Contains(logs.String(), "last successful backup") || !strings.Contains(logs.String(), want[2]) {
		t.Errorf("the log does not name the last successful backup:\n%s", logs.String())
	}
}

// After a restart, a backup taken less than Every ago is not repeated.
func TestScheduleCountsTheBackupsAlreadyThere(t *testing.T) {
	clock := dirtest.NewClock(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC))
	d := newDirectory(t, clock.Now)
	dir := t.TempDir()
	if _, err := backup.WriteFile(context.Background(), filepath.Join(dir, "atrium-20261201T000000Z.db"), d); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var waits []time.Duration
	s := &backup.Schedule{Dir: dir, Every: 6 * time.Hour, Source: d, Now: clock.Now, After: func(wait time.Duration) <-chan time.Time {
		waits = append(waits, wait)
		cancel()
		return make(chan time.Time)
	}}
	s.Run(ctx)
	if !slices.Equal(waits, []time.Duration{3 * time.Hour}) {
		t.Errorf("waited %v, want 3h (6h after the backup taken at midnight)", waits)
	}
	if got := names(t, dir); len(got) != 1 {
		t.Errorf("backup directory holds %v, want only the earlier backup", got)
	}
}

func TestVerifyCatchesACorruptedFile(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t, nil)
	path := filepath.Join(t.TempDir(), "atrium-backup.db")
	if _, err := backup.WriteFile(ctx, path, d); err != nil {
		t.Fatal(err)
	}
	if problems, err := backup.Verify(ctx, path); err != nil || len(problems) > 0 {
		t.Fatalf("a whole backup does not verify: %v %v", problems, err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("bytes flipped", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "flipped.db")
		flipped := bytes.Clone(raw)
		for i := 2 * 4096; i < len(flipped); i += 61 {
			flipped[i] ^= 0xff
		}
		if err := os.WriteFile(bad, flipped, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := backup.Verify(ctx, bad); err == nil {
			t.Fatal("a backup with flipped bytes verified")
		} else {
			t.Log(err)
		}
	})
	t.Run("index entry deleted", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "noindex.db")
		if err := os.WriteFile(bad, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := boltstore.Open(bad, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Update(ctx, func(tx directory.Tx) error { return tx.Delete("ix.uid", "bob") }); err != nil {
			t.Fatal(err)
		}
		s.Close()
		problems, err := backup.Verify(ctx, bad)
		if err != nil || len(problems) != 1 || !strings.Contains(problems[0].String(), "ix.uid/bob: entry missing") {
			t.Fatalf("Verify found %v, %v; want the missing ix.uid entry of bob", problems, err)
		}
	})
}

func TestVerifyOnlyReadsTheFile(t *testing.T) {
	ctx := context.Background()
	d := newDirectory(t, nil)
	path := filepath.Join(t.TempDir(), "atrium-backup.db")
	if _, err := backup.WriteFile(ctx, path, d); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if _, err := backup.Verify(ctx, path); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("Verify changed the backup")
	}
}

// A backup that cannot be written is logged with the last one that was,
// and tried again within the hour rather than a day later.
func TestScheduleRetriesAFailedBackup(t *testing.T) {
	clock := dirtest.NewClock(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC))
	d := newDirectory(t, clock.Now)
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var waits []time.Duration
	var logs bytes.Buffer
	s := &backup.Schedule{Dir: notADir, Source: d, Log: slog.New(slog.NewTextHandler(&logs, nil)), Now: clock.Now,
		After: func(wait time.Duration) <-chan time.Time {
			waits = append(waits, wait)
			if len(waits) == 2 {
				cancel()
			}
			clock.Advance(wait)
			ch := make(chan time.Time, 1)
			ch <- clock.Now()
			return ch
		}}
	s.Run(ctx)
	if !slices.Equal(waits, []time.Duration{time.Hour, time.Hour}) {
		t.Errorf("waited %v after failures, want an hour each", waits)
	}
	if n := strings.Count(logs.String(), `msg="scheduled backup failed"`); n != 2 || !strings.Contains(logs.String(), "last_success=") {
		t.Errorf("want two failures logged with the last success:\n%s", logs.String())
	}
}
