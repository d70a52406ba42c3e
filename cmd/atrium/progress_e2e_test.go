package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// TestLongCommandsShowProgressOnlyOnATerminal runs backup, restore, export
// and import twice: with standard error on a pipe, where they print
// nothing there, and on a terminal (script(1) gives them one), where each
// draws its progress line to 100%.
func TestLongCommandsShowProgressOnlyOnATerminal(t *testing.T) {
	dir := t.TempDir()
	c := &cli{data: filepath.Join(dir, "data"), env: testEnv(), tr: &transcript{}}
	c.okIn(t, "secret password\n", "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	c.ok(t, "group", "add", "staff")
	c.ok(t, "group", "add-member", "staff", "alice")

	commands := func(tag string) [][]string {
		backup, ldif := filepath.Join(dir, tag+".backup"), filepath.Join(dir, tag+".ldif")
		return [][]string{
			{"backup", backup, "--data", c.data},
			{"restore", backup, "--data", filepath.Join(dir, tag+"-restored")},
			{"export", ldif, "--data", c.data},
			{"import", ldif, "--data", filepath.Join(dir, tag+"-imported")},
		}
	}
	for _, args := range commands("pipe") {
		var stderr strings.Builder
		cmd := exec.Command(atriumBin, args...)
		cmd.Env, cmd.Stderr = c.env, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("atrium %s off a terminal: %v, standard error %q", args[0], err, stderr.String())
		}
	}

	script := testenv.Tool(t, "script", "bsdutils")
	for _, args := range commands("tty") {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		line := atriumBin + " " + strings.Join(args, " ")
		cmd := exec.CommandContext(ctx, script, "-qec", line, "/dev/null")
		cmd.Env = c.env
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("atrium %s on a terminal: %v\n%s", args[0], err, out)
		}
		if want := "\r" + args[0] + " [########################] 100% "; !strings.Contains(string(out), want) {
			t.Errorf("atrium %s on a terminal drew no finished progress line:\n%q", args[0], out)
		}
	}
}
