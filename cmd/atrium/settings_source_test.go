package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// The file wins: a setting stored from the console or `settings set`
// applies when the configuration sets none, also after a restart, and is
// ignored when the file or an ATRIUM_* variable sets the key, which is
// then read-only, naming the key or variable.
func TestStoredSettingsYieldToTheFile(t *testing.T) {
	t.Setenv("ATRIUM_TEST_FAST_HASH", "1")
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	bare := filepath.Join(dir, "bare.yaml")
	fixed := filepath.Join(dir, "fixed.yaml")
	os.WriteFile(bare, []byte("data: "+data+"\nldap:\n  anonymous: base\nsamba:\n  domain: HOME\n"), 0o600)
	os.WriteFile(fixed, []byte("data: "+data+"\nmfa:\n  require: none\npassword:\n  min_length: 10\n"), 0o600)
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
	if f := cfg.fixedSettings(); len(f) != 1 || f[directory.KeyAnonymous].Source != "the configuration file (ldap.anonymous)" {
		t.Errorf("the bare file fixes %+v", f)
	}
	for _, s := range cfg.consoleSettings() {
		if want := map[bool]string{true: "configuration", false: "default"}[s.Key == "samba.domain"]; s.Source != want {
			t.Errorf("%s comes from %q, want %s", s.Key, s.Source, want)
		}
	}
	by := directory.Changer{Actor: "root", Remote: "local", Service: "cli"}
	if err := d.SetSettings(ctx, map[string]string{directory.KeyMFARequire: "all", directory.KeyMinPasswordLength: "12"}, by); err != nil {
		t.Fatal(err)
	}
	done()

	t.Setenv("ATRIUM_LDAP_USER_READ", "self")
	_, d, done = open(bare)
	if s := d.Settings(); !d.MFAPolicy().All || s.MinPasswordLength != 12 || s.UserRead != "self" || s.Anonymous != "base" {
		t.Errorf("after a restart: %+v", s)
	}
	if err := d.SetSettings(ctx, map[string]string{directory.KeyUserRead: "all"}, by); err == nil || !strings.Contains(err.Error(), "the environment (ATRIUM_LDAP_USER_READ)") {
		t.Errorf("changing a setting the environment sets: %v", err)
	}
	done()
	_, d, done = open(fixed)
	defer done()
	if s := d.Settings(); d.MFAPolicy().All || s.MinPasswordLength != 10 {
		t.Errorf("the file's mfa.require none and min_length 10 lost to the stored ones: %+v", s)
	}
	for _, i := range d.SettingsInfo() {
		if i.Key == directory.KeyMFAGroups && i.FixedBy != "the configuration file (mfa.require)" {
			t.Errorf("mfa.groups is not fixed with mfa.require: %+v", i)
		}
	}
}

// config check reports a run-time setting out of the directory's bounds
// and an unreadable list of refused passwords.
func TestRuntimeSettingsChecked(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "atrium.yaml")
	os.WriteFile(file, []byte("password:\n  min_length: 7\n  refused_file: "+filepath.Join(dir, "missing.txt")+"\nldap:\n  user_read: nobody\n"), 0o600)
	cfg, err := loadConfig(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(cfg.Validate(), "\n")
	for _, want := range []string{`password.min_length: "7" must be a whole number from 8 to 64`, `ldap.user_read: "nobody" must be all or self`, "password.refused_file: cannot read"} {
		if !strings.Contains(got, want) {
			t.Errorf("config check lacks %q:\n%s", want, got)
		}
	}
}
