package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestVersion(t *testing.T) {
	c := &cli{data: t.TempDir(), env: testEnv(), tr: &transcript{}}
	out := c.ok(t, "version")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "atrium ") || !strings.HasPrefix(lines[1], "commit ") || !strings.HasPrefix(lines[2], "go1.") {
		t.Errorf("atrium version printed %q, want version, commit and Go version lines", out)
	}
}

// healthcheck asks /healthz, or the admin socket when the configuration
// has no HTTP listener; with no server it fails.
func TestHealthcheck(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	srv := startServer(t, data, testEnv(), nil)
	viaHTTP := &cli{data: data, env: testEnv("ATRIUM_HTTP_ADDR=" + srv.httpAddr), tr: &transcript{}}
	viaSocket := &cli{data: data, env: testEnv("ATRIUM_HTTP_ADDR="), tr: &transcript{}}
	for _, c := range []*cli{viaHTTP, viaSocket} {
		if out := c.ok(t, "healthcheck"); strings.TrimSpace(out) != "ok" {
			t.Errorf("healthcheck printed %q", out)
		}
	}
	srv.stop(t)
	for _, c := range []*cli{viaHTTP, viaSocket} {
		c.fails(t, exitError, "healthcheck")
	}
}
