package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
)

// sambaAt opens cfg's data directory as atrium serve does, asks for the
// Samba domain, and closes it again.
func sambaAt(t *testing.T, cfg Config) (string, error) {
	t.Helper()
	ctx := context.Background()
	d, s, err := openDirectory(ctx, cfg, time.Second, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer d.Close()
	dom, err := sambaDomain(ctx, cfg, d)
	if dom == nil {
		return "", err
	}
	return dom.SID, err
}

// The domain SID is made once. Started with another secret.key, Atrium
// stops with a plain message instead of making a new SID, and with the
// right key again it serves the SID it always had.
func TestSambaDomainSIDSurvivesAWrongKey(t *testing.T) {
	cfg := defaultConfig()
	cfg.Data, cfg.Samba.Enabled = t.TempDir(), true
	sid, err := sambaAt(t, cfg)
	if err != nil || !strings.HasPrefix(sid, "S-1-5-21-") {
		t.Fatalf("first start: SID %q, %v", sid, err)
	}
	if again, err := sambaAt(t, cfg); again != sid || err != nil {
		t.Fatalf("second start: SID %q, %v; want %q", again, err, sid)
	}

	keyFile := filepath.Join(cfg.Data, "secret.key")
	right, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(keyFile); err != nil { // the next start makes another key
		t.Fatal(err)
	}
	if got, err := sambaAt(t, cfg); err == nil || got != "" {
		t.Fatalf("start with another secret.key: SID %q, %v; want an error", got, err)
	} else if !strings.Contains(err.Error(), "check that secret.key is the one this database was created with") {
		t.Errorf("start with another secret.key: %v", err)
	}
	if err := os.WriteFile(keyFile, right, 0o600); err != nil {
		t.Fatal(err)
	}
	if again, err := sambaAt(t, cfg); again != sid || err != nil {
		t.Fatalf("start with the right key again: SID %q, %v; want %q", again, err, sid)
	}
}

// failingWrites is a store whose writes fail once fail is set.
type failingWrites struct {
	directory.Store
	fail bool
}

var errDiskFull = errors.New("disk full")

func (s *failingWrites) Update(ctx context.Context, fn func(directory.Tx) error) error {
	if s.fail {
		return errDiskFull
	}
	return s.Store.Update(ctx, fn)
}

// A new SID that cannot be stored stops start-up: served unstored, it
// would change at the next start.
func TestSambaDomainSIDNotStoredStopsStartup(t *testing.T) {
	ctx := context.Background()
	bolt, err := boltstore.Open(filepath.Join(t.TempDir(), "atrium.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bolt.Close() })
	store := &failingWrites{Store: bolt}
	d, err := directory.New(ctx, store, directory.Options{PasswordParams: password.TestParams, SecretKey: make([]byte, 32), Samba: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	store.fail = true
	cfg := defaultConfig()
	cfg.Samba.Enabled = true
	if dom, err := sambaDomain(ctx, cfg, d); !errors.Is(err, errDiskFull) || dom != nil {
		t.Fatalf("sambaDomain with failing writes: %v, %v; want the store's error", dom, err)
	}
}
