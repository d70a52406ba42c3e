package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
)

func TestBackupVerify(t *testing.T) {
	c := &cli{data: filepath.Join(t.TempDir(), "data"), env: testEnv(), tr: &transcript{}}
	c.okIn(t, "a long password\n", "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	file := filepath.Join(t.TempDir(), "copy.db")
	c.ok(t, "backup", file)
	if out := c.ok(t, "backup", "verify", file); !strings.Contains(out, "every record and index checks out") {
		t.Errorf("backup verify of a whole backup said %q", out)
	}

	s, err := boltstore.Open(file, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	err = s.Update(context.Background(), func(tx directory.Tx) error { return tx.Delete("ix.mail", "alice@example.com") })
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := c.fails(t, exitError, "backup", "verify", file)
	if !strings.Contains(r.stdout, "problem: ix.mail/alice@example.com: entry missing") || !strings.Contains(r.stderr, "do not restore it") {
		t.Errorf("backup verify of a damaged backup:\nstdout: %s\nstderr: %s", r.stdout, r.stderr)
	}

	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i := 2 * 4096; i < len(raw); i += 61 {
		raw[i] ^= 0xff
	}
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if r := c.fails(t, exitError, "backup", "verify", file); !strings.Contains(r.stderr, "damaged") {
		t.Errorf("backup verify of a file with flipped bytes: %s", r.stderr)
	}
}

// A server with backup.dir set takes its first backup at once, as none
// exists, and logs it as the last successful one.
func TestServeTakesScheduledBackups(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, data, testEnv("ATRIUM_BACKUP_DIR="+dir), nil)
	deadline := time.Now().Add(10 * time.Second)
	var found []string
	for len(found) == 0 && time.Now().Before(deadline) {
		found, _ = filepath.Glob(filepath.Join(dir, "atrium-*.db"))
		time.Sleep(20 * time.Millisecond)
	}
	if len(found) != 1 {
		t.Fatalf("backups after start: %v\n%s", found, srv.log)
	}
	for !strings.Contains(srv.log.String(), "last successful backup") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(srv.log.String(), found[0]) {
		t.Errorf("the log does not name the backup %s:\n%s", found[0], srv.log)
	}
	srv.stop(t)
	c := &cli{data: data, env: testEnv(), tr: &transcript{}}
	c.ok(t, "backup", "verify", found[0])
}
