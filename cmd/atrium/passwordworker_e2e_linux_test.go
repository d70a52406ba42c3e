package main

import (
	"bytes"
	"fmt"
	"github.com/atrium-dir/atrium/directory/password"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestServeHashesInIdleWorkers: atrium serve checks a bind's password in a
// child process of its own executable running at nice 10, and ends
// its workers when it stops.
func TestServeHashesInIdleWorkers(t *testing.T) {
	srv := startServer(t, filepath.Join(t.TempDir(), "data"), testEnv(), nil)
	shown := firstStartPasswordRE.FindStringSubmatch(srv.log.String())
	if shown == nil {
		t.Fatalf("no admin password shown at first start:\n%s", srv.log)
	}
	if err := bindLDAP(t, srv.ldapAddr, userDN("admin"), shown[1]); err != nil {
		t.Fatalf("admin bind: %v", err)
	}
	workers := passwordWorkers(srv.cmd.Process.Pid)
	if len(workers) == 0 {
		t.Fatal("atrium serve has no password worker after a bind")
	}
	for _, pid := range workers {
		threads, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, th := range threads {
			tid, _ := strconv.Atoi(th.Name())
			if !password.AtWorkerPriority(tid) {
				t.Errorf("worker %d thread %d does not run at nice %d", pid, tid, password.Nice)
			}
		}
	}
	srv.stop(t)
	for _, pid := range workers {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			t.Errorf("password worker %d outlived atrium serve", pid)
		}
	}
	if strings.Contains(srv.log.String(), "password worker") {
		t.Errorf("the workers logged:\n%s", srv.log)
	}
}

// passwordWorkers are pid's child processes named atrium-password-worker.
func passwordWorkers(pid int) []int {
	var workers []int
	threads, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, th := range threads {
		raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, th.Name()))
		for _, f := range strings.Fields(string(raw)) {
			child, _ := strconv.Atoi(f)
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", child))
			if string(bytes.TrimRight(cmdline, "\x00")) == "atrium-password-worker" {
				workers = append(workers, child)
			}
		}
	}
	return workers
}
