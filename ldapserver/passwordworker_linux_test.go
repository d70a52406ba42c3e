package ldapserver

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/ldif"
)

// TestColdBindUpgradesInWorker: with password workers, as atrium serve
// runs them, the first bind over LDAP of a user imported with {SSHA}
// succeeds and upgrades the hash to argon2id, computed in an idle-priority
// child process: the 32 MiB of the hash are the child's, not the
// server's.
func TestColdBindUpgradesInWorker(t *testing.T) {
	ctx := context.Background()
	params := password.Params{Memory: 32 * 1024, Time: 1, Threads: 1}
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "atrium.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: params})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	u, err := d.CreateUser(ctx, directory.User{UID: "dave", Mail: "dave@example.com", UIDNumber: 10004})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.SetPasswordHash(ctx, "dave", ssha("imported-password")); err != nil {
		t.Fatal(err)
	}
	layout, err := ldif.NewLayout("dc=example,dc=com")
	if err != nil {
		t.Fatal(err)
	}
	_, addr := startServer(t, &fixture{dir: d, b: NewBackend(BackendConfig{Directory: d, Layout: layout})})
	var log bytes.Buffer
	w := password.StartWorkers(slog.New(slog.NewTextHandler(&log, nil)))
	t.Cleanup(w.Close)

	const dn = "uid=dave,ou=people,dc=example,dc=com"
	if dial(t, addr).Bind(dn, "wrong-password") == nil {
		t.Fatal("a wrong password binds")
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err = dial(t, addr).Bind(dn, "imported-password")
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatalf("first bind with the imported password: %v", err)
	}
	sec, err := d.UserSecrets(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sec.PasswordHash, "{ARGON2}$argon2id$") || password.NeedsUpgrade(sec.PasswordHash, params) {
		t.Fatalf("after the first bind the hash is %.12s…, want argon2id with m=32 MiB", sec.PasswordHash)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("the server allocated %d MiB during the bind: the hash was not made in a worker", grew>>20)
	}
	checkWorkers(t, 32*1024)
	if err := dial(t, addr).Bind(dn, "imported-password"); err != nil {
		t.Fatalf("bind against the upgraded hash: %v", err)
	}
	if log.Len() > 0 {
		t.Errorf("the workers logged: %s", log.String())
	}
}

// checkWorkers fails unless this process has a password worker, every
// one's threads run at nice 10, and one has used at least minKiB.
func checkWorkers(t *testing.T, minKiB int) {
	t.Helper()
	peak := 0
	for _, pid := range childPIDs() {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if string(bytes.TrimRight(cmdline, "\x00")) != "atrium-password-worker" {
			continue
		}
		threads, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, th := range threads {
			tid, _ := strconv.Atoi(th.Name())
			if !password.AtWorkerPriority(tid) {
				t.Errorf("worker %d thread %d does not run at nice %d", pid, tid, password.Nice)
			}
		}
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
				peak = max(peak, kb)
			}
		}
	}
	if peak < minKiB {
		t.Errorf("no password worker used the hash's %d KiB (largest peak %d KiB)", minKiB, peak)
	}
}

// childPIDs are this process's child processes.
func childPIDs() []int {
	var pids []int
	threads, _ := os.ReadDir("/proc/self/task")
	for _, th := range threads {
		raw, _ := os.ReadFile("/proc/self/task/" + th.Name() + "/children")
		for _, f := range strings.Fields(string(raw)) {
			pid, _ := strconv.Atoi(f)
			pids = append(pids, pid)
		}
	}
	return pids
}
