package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// The file wins: an MFA requirement stored from the admin console applies
// when the configuration sets none, and is ignored when the file sets
// mfa.require, which the console then shows as read-only with its source.
func TestStoredMFARequirementYieldsToTheFile(t *testing.T) {
	t.Setenv("ATRIUM_TEST_FAST_HASH", "1")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	bare := filepath.Join(dir, "bare.yaml")
	fixed := filepath.Join(dir, "fixed.yaml")
	os.WriteFile(bare, []byte("data: "+data+"\nldap:\n  anonymous: base\n"), 0o600)
	os.WriteFile(fixed, []byte("data: "+data+"\nmfa:\n  require: none\n"), 0o600)
	ctx := context.Background()
	open := func(file string) (Config, *directory.Directory, func()) {
		t.Helper()
		cfg, err := loadConfig(file, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, s, err := openDirectory(ctx, cfg, time.Second, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return cfg, d, func() { d.Close(); s.Close() }
	}
	cfg, d, done := open(bare)
	if cfg.mfaSource() != "" {
		t.Errorf("a file without mfa sets the MFA policy: %q", cfg.mfaSource())
	}
	for _, s := range cfg.consoleSettings() {
		if want := map[bool]string{true: "configuration", false: "default"}[s.Key == "ldap.anonymous"]; s.Source != want {
			t.Errorf("%s comes from %q, want %s", s.Key, s.Source, want)
		}
	}
	if err := d.SetMFARequirement(ctx, directory.MFARequirement{All: true}); err != nil {
		t.Fatal(err)
	}
	done()

	_, d, done = open(bare)
	if !d.MFAPolicy().All {
		t.Error("the stored MFA requirement does not apply after a restart")
	}
	done()
	cfg, d, done = open(fixed)
	defer done()
	if d.MFAPolicy().All || cfg.mfaSource() == "" {
		t.Errorf("the file's mfa.require: none lost to the stored setting (source %q)", cfg.mfaSource())
	}
}
