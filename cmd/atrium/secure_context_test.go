package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeTurnsOnPasskeysAndPushWhereBrowsersAllowThem: at an external URL
// on localhost the server serves the passkey script and the push endpoints;
// at an IP address, where browsers refuse WebAuthn, it serves neither and
// says why in its log.
func TestServeTurnsOnPasskeysAndPushWhereBrowsersAllowThem(t *testing.T) {
	paths := []string{"/passkey/passkey.js", "/push/key", "/sw.js", "/manifest.webmanifest"}
	get := func(base, path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}

	t.Run("localhost", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		srv := startServerAt(t, data, testEnv(), nil, func(httpAddr string) string {
			return "http://localhost:" + httpAddr[strings.LastIndex(httpAddr, ":")+1:]
		})
		defer srv.stop(t)
		for _, p := range paths {
			if code := get("http://"+srv.httpAddr, p); code != http.StatusOK {
				t.Errorf("GET %s: %d, want 200", p, code)
			}
		}
		if strings.Contains(srv.log.String(), "are off") {
			t.Errorf("log says a second factor is off:\n%s", srv.log)
		}
	})

	t.Run("IP address", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		srv := startServer(t, data, testEnv(), nil)
		defer srv.stop(t)
		for _, p := range paths {
			if code := get("http://"+srv.httpAddr, p); code != http.StatusNotFound {
				t.Errorf("GET %s: %d, want 404", p, code)
			}
		}
		for _, want := range []string{"passkeys are off", "push approvals are off"} {
			if !strings.Contains(srv.log.String(), want) {
				t.Errorf("log lacks %q:\n%s", want, srv.log)
			}
		}
	})
}
