package ldapserver

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// private is an outside daemon (nslcd, sssd, smbd) run by unshare in a
// private mount namespace, so that it can mount the test's files over its
// fixed paths. unshare and sh exec into the daemon, so Pid is its pid and
// /proc/Pid/root shows the namespace's files.
type private struct {
	Pid    int
	Log    *testenv.Output
	exited chan error
}

// startPrivate runs script with sh -c in a private mount namespace, with
// args as $1, $2... It is stopped when the test ends: SIGTERM to its
// process group (smbd signals its whole group; sssd's monitor stops its
// children), SIGKILL after 10 s; its output is logged if the test failed.
func startPrivate(t *testing.T, name, unshare, script string, args ...string) *private {
	t.Helper()
	p := &private{Log: &testenv.Output{}, exited: make(chan error, 1)}
	cmd := exec.Command(unshare, append([]string{"--mount", "--propagation", "private", "sh", "-c", script, "sh"}, args...)...)
	cmd.Stdout, cmd.Stderr = p.Log, p.Log
	// A group of its own keeps the daemon's signals from the test, and it
	// must not outlive a test binary that is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.Pid = cmd.Process.Pid
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-p.Pid, syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(-p.Pid, syscall.SIGKILL)
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Log.String())
		}
	})
	return p
}

// waitFor waits until path exists, failing the test if the daemon exits
// first or the path does not appear within 20 s.
func (p *private) waitFor(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !p.gone(t) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear\n%s", path, p.Log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// gone fails the test if the daemon has exited.
func (p *private) gone(t *testing.T) bool {
	t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err
		t.Fatalf("the program exited: %v\n%s", err, p.Log.String())
		return true
	default:
		return false
	}
}
