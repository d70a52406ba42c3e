package main

import (
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServeSelfServiceSections: the served self-service page carries the
// sections of codes that otp adds, the authenticator app's before the
// passkey and push sections and the recovery codes' after them, and the
// server answers their forms (a signed-in user is shown an authenticator
// app's secret).
func TestServeSelfServiceSections(t *testing.T) {
	dir := t.TempDir()
	env := testEnv()
	c := &cli{data: filepath.Join(dir, "data"), env: env, tr: &transcript{}}
	c.okIn(t, "alice-password\n", "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	srv := startServerAt(t, c.data, env, c.tr, func(httpAddr string) string {
		return "http://localhost:" + httpAddr[strings.LastIndex(httpAddr, ":")+1:]
	})
	defer srv.stop(t)
	base := "http://localhost:" + srv.httpAddr[strings.LastIndex(srv.httpAddr, ":")+1:]

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	login, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	status, page := mfaSubmit(t, client, base, string(login), url.Values{"username": {"alice"}, "password": {"alice-password"}})
	if status != http.StatusOK {
		t.Fatalf("account page after sign-in: %d\n%s", status, page)
	}
	last := -1
	for _, id := range []string{"factors", "authenticator", "passkeys", "push", "recovery", "app-passwords"} {
		i := strings.Index(page, `<section id="`+id+`">`)
		if i < last {
			t.Errorf("section %s missing or out of order (at %d, after %d):\n%s", id, i, last, page)
		}
		last = i
	}

	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if csrf == nil {
		t.Fatalf("no CSRF token on the account page:\n%s", page)
	}
	resp, err = client.PostForm(base+"/account/totp", url.Values{"csrf": {html.UnescapeString(csrf[1])}})
	if err != nil {
		t.Fatal(err)
	}
	enroll, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(enroll), `id="totp-secret"`) {
		t.Errorf("adding an authenticator app: %d\n%s", resp.StatusCode, enroll)
	}
}
