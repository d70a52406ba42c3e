// Package testenv finds the outside programs that interop tests drive. On a
// developer's machine a missing program skips the test with a message that
// says which Debian package provides it; under CI=true it fails the test,
// because CI installs everything and a skip there would hide a gap.
package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"testing"
)

// CI reports whether the tests run in CI, where nothing may be skipped.
func CI() bool { return os.Getenv("CI") == "true" }

// Tool returns the path of program, or skips (fails under CI) when it is not
// installed. debianPackage names the package that provides it.
func Tool(t testing.TB, program, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	if _, statErr := os.Stat(program); statErr == nil {
		return program
	}
	Missing(t, program+" is not installed (apt-get install "+debianPackage+")")
	return ""
}

// Missing skips the test with why, or fails it under CI.
func Missing(t testing.TB, why string) {
	t.Helper()
	if CI() {
		t.Fatalf("%s; CI=true, so this is a failure, not a skip", why)
	}
	t.Skip(why)
}

// Output collects what an outside program writes, from any goroutine, for a
// test to read at any time.
type Output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
