package main

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/internal/sitetest"
)

// atrium serve behind a reverse proxy at 127.0.0.2 (web.trusted_proxies):
// the proxy's X-Forwarded-For names the client for the backoff and the
// audit log, so a flood of wrong passwords through the proxy blocks only
// its sender; the same header sent by a client at 127.0.0.1, which is no
// proxy, is ignored.
func TestForwardedHeadersFromTrustedProxiesOnly(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	c := &cli{data: data, env: testEnv("ATRIUM_WEB_TRUSTED_PROXIES=127.0.0.2"), tr: &transcript{}, served: true}
	srv := startServer(t, data, c.env, nil)
	for _, uid := range []string{"alice", "bob"} {
		c.okIn(t, uid+"-long-password\n", "user", "add", uid, "--mail", uid+"@example.com", "--password-stdin")
	}
	base := "http://" + srv.httpAddr

	t.Run("trusted proxy", func(t *testing.T) {
		for range 8 {
			forwardedSignIn(t, base, "127.0.0.2", "198.51.100.66, 203.0.113.5", "alice", "wrong")
		}
		if status, _ := forwardedSignIn(t, base, "127.0.0.2", "203.0.113.5", "alice", "alice-long-password"); status != http.StatusTooManyRequests {
			t.Errorf("alice's password from the flooding client: %d, want 429", status)
		}
		if status, body := forwardedSignIn(t, base, "127.0.0.2", "198.51.100.9", "alice", "alice-long-password"); status != http.StatusOK || strings.Contains(body, `name="password"`) {
			t.Errorf("alice's password from another client through the same proxy: %d, want signed in\n%s", status, body)
		}
	})

	t.Run("untrusted client", func(t *testing.T) {
		for range 8 {
			forwardedSignIn(t, base, "127.0.0.1", "192.0.2.77", "bob", "wrong")
		}
		if status, _ := forwardedSignIn(t, base, "127.0.0.1", "192.0.2.88", "bob", "bob-long-password"); status != http.StatusTooManyRequests {
			t.Errorf("bob's password from the flooding client with a new spoofed X-Forwarded-For: %d, want 429", status)
		}
	})

	remotes := map[string]map[string]bool{}
	for _, e := range decodeJSON[[]struct {
		Kind    string `json:"kind"`
		Subject string `json:"subject"`
		Remote  string `json:"remote"`
	}](t, c.ok(t, "audit", "--since", "1h", "--json")) {
		if e.Kind == "login" {
			if remotes[e.Subject] == nil {
				remotes[e.Subject] = map[string]bool{}
			}
			remotes[e.Subject][e.Remote] = true
		}
	}
	if !remotes["alice"]["203.0.113.5"] || !remotes["alice"]["198.51.100.9"] || remotes["alice"]["127.0.0.2"] {
		t.Errorf("alice's sign-ins through the proxy are audited from %v, want the forwarded clients", remotes["alice"])
	}
	if !remotes["bob"]["127.0.0.1"] || remotes["bob"]["192.0.2.77"] || remotes["bob"]["192.0.2.88"] {
		t.Errorf("bob's sign-ins are audited from %v, want only 127.0.0.1", remotes["bob"])
	}
	srv.stop(t)
}

// webSignIn signs uid in on the portal from local with X-Forwarded-For
// xff and returns the status and page that answer the password.
func forwardedSignIn(t *testing.T, base, local, xff, uid, password string) (int, string) {
	t.Helper()
	client := clientFrom(local, true, true)
	client.Transport = forwarding{xff: xff, next: client.Transport}
	resp, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := sitetest.FlowFields(url.Values{"username": {uid}, "password": {password}}, string(page))
	resp, err = client.PostForm(base+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// forwarding adds X-Forwarded-For to every request, as a proxy would.
type forwarding struct {
	xff  string
	next http.RoundTripper
}

func (f forwarding) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.xff)
	return f.next.RoundTrip(r)
}

func TestTrustedProxiesConfig(t *testing.T) {
	c := defaultConfig()
	c.Web.TrustedProxies = []string{"127.0.0.1", "10.0.0.0/8", "proxy.example"}
	got := strings.Join(c.Validate(), "\n")
	if !strings.Contains(got, `web.trusted_proxies: "proxy.example"`) || strings.Contains(got, "10.0.0.0/8") {
		t.Errorf("Validate() = %q, want only proxy.example refused", got)
	}
	t.Setenv("ATRIUM_WEB_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")
	c, err := loadConfig("", nil)
	if err != nil || len(c.trustedProxies()) != 2 || c.trustedProxies()[1].String() != "10.0.0.0/8" {
		t.Errorf("ATRIUM_WEB_TRUSTED_PROXIES read as %v (%v)", c.trustedProxies(), err)
	}
}
