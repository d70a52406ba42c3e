package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestConsoleServed: atrium serve mounts the admin console on its HTTP
// listener. A visitor is sent to sign in; alice, who is not in admins,
// signs in and is refused with 403; the console's script is served.
func TestConsoleServed(t *testing.T) {
	c := &cli{data: filepath.Join(t.TempDir(), "data"), env: testEnv(), tr: &transcript{}, served: true}
	srv := startServer(t, c.data, c.env, nil)
	const pw = "correct horse battery staple"
	c.okIn(t, pw, "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	base := "http://" + srv.httpAddr
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}
	if resp, _ := get("/admin/assets/console.js"); resp.StatusCode != http.StatusOK {
		t.Errorf("the console's script: %d", resp.StatusCode)
	}
	resp, body := get("/admin/users")
	if resp.Request.URL.Path != "/login" || !strings.Contains(body, `name="password"`) {
		t.Fatalf("a visitor to the console is at %s, not the sign-in page", resp.Request.URL)
	}
	form := url.Values{"username": {"alice"}, "password": {pw}}
	for _, m := range regexp.MustCompile(`name="(flow|csrf|step)" value="([^"]*)"`).FindAllStringSubmatch(body, -1) {
		form.Set(m[1], m[2])
	}
	resp, err := client.PostForm(base+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Request.URL.Path != "/admin/users" {
		t.Errorf("alice, no admin, signing in to the console: %d at %s, want 403 at /admin/users", resp.StatusCode, resp.Request.URL)
	}
}
