package packaging

import (
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// make release cross-compiles every target; it takes a while, so -short
// leaves it out.
func TestReleaseBuildsEveryTarget(t *testing.T) {
	if testing.Short() {
		t.Skip("make release cross-compiles three binaries; run without -short")
	}
	dir := t.TempDir()
	cmd := exec.Command("make", "-C", "..", "release", "RELEASE_DIR="+dir, "VERSION=v9.9.9-test", "COMMIT=0123abcd")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	targets := map[string]elf.Machine{"atrium-linux-amd64": elf.EM_X86_64, "atrium-linux-arm64": elf.EM_AARCH64, "atrium-linux-armv7": elf.EM_ARM}
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	for name, machine := range targets {
		path := filepath.Join(dir, name)
		f, err := elf.Open(path)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if f.Machine != machine || hasInterpreter(f) {
			t.Errorf("%s: machine %v (want %v), dynamically linked %v", name, f.Machine, machine, hasInterpreter(f))
		}
		f.Close()
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		if !strings.Contains(string(sums), hex.EncodeToString(sum[:])+"  "+name+"\n") {
			t.Errorf("SHA256SUMS has no right line for %s:\n%s", name, sums)
		}
	}
	if runtime.GOOS == "linux" && runtime.GOARCH == "amd64" {
		out, err := exec.Command(filepath.Join(dir, "atrium-linux-amd64"), "version").Output()
		if err != nil || !strings.HasPrefix(string(out), "atrium v9.9.9-test\ncommit 0123abcd\ngo") {
			t.Errorf("atrium version: %v\n%s", err, out)
		}
	}
}

// hasInterpreter reports a dynamically linked binary (one that needs
// ld.so, which a FROM scratch image or an old NAS may not have).
func hasInterpreter(f *elf.File) bool {
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return true
		}
	}
	return false
}
