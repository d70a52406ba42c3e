package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/directory/password"
)

// TestConfigArgon2Parameters: the argon2id cost is set in the config file,
// and parameters below OWASP's minimum are refused with the reason.
func TestConfigArgon2Parameters(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	c := &cli{data: filepath.Join(dir, "data"), env: testEnv(), tr: &transcript{}}

	weak := write("weak.yaml", "password:\n  memory_kib: 8192\n  time: 1\n  threads: 1\n  concurrency: -1\n")
	r := c.fails(t, exitError, "config", "check", "--config", weak)
	for _, want := range []string{
		"problem: password: argon2id m=8192 KiB, t=1, p=1 is below OWASP's minimum of m=19456 KiB (19 MiB), t=2, p=1; raise memory_kib, time or threads",
		"problem: password.concurrency: must be 0 (one per CPU) or more",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("config check does not report %q:\n%s", want, r.stdout)
		}
	}

	good := write("good.yaml", "password:\n  memory_kib: 19456\n  time: 2\n  threads: 1\n  concurrency: 2\n")
	cfg := decodeJSON[Config](t, c.ok(t, "config", "check", "--config", good, "--json"))
	if got := cfg.passwordParams(); got != password.MinParams || cfg.Password.Concurrency != 2 {
		t.Errorf("config gives %+v, concurrency %d", got, cfg.Password.Concurrency)
	}
	def := decodeJSON[Config](t, c.ok(t, "config", "check", "--json"))
	if got := def.passwordParams(); got != password.DefaultParams {
		t.Errorf("default parameters %+v, want %+v", got, password.DefaultParams)
	}
}
