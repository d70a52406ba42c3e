package directory_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/directory/password"
)

// A burst of short-lived state (sessions of many sign-ins) grows the file
// once. After it expires and SweepState removes it, bbolt reuses the freed
// pages, so a second burst as large does not grow the file by much: the
// file never shrinks, but it stops at the largest burst's size instead of
// growing with every one. (Nothing holds a read transaction here; one
// that stays open would keep the pages from being reused, which is why
// LDAP searches no longer hold one while they send.)
func TestStateBurstsReuseFreedPages(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "atrium.db")
	store, err := boltstore.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	clock := dirtest.NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	d, err := directory.New(ctx, store, directory.Options{Now: clock.Now, PasswordParams: password.TestParams, SecretKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	value := strings.Repeat("v", 4<<10)
	burst := func(round string) int64 {
		for i := range 2000 {
			if err := d.PutState(ctx, "burst", round+"-"+strconv.Itoa(i), value, clock.Now().Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	first := burst("one")
	clock.Advance(2 * time.Minute)
	if n, err := d.SweepState(ctx); err != nil || n != 2000 {
		t.Fatalf("SweepState removed %d (%v), want 2000", n, err)
	}
	second := burst("two")
	t.Logf("file after the first burst %d bytes, after the second %d", first, second)
	if second > first+first/10 {
		t.Errorf("the second burst grew the file from %d to %d bytes; freed pages were not reused", first, second)
	}
}
