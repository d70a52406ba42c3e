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
	"time"

	"github.com/gorilla/websocket"
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

// TestConsoleLiveSearchServed: through atrium serve's own HTTP stack (its
// timeouts, connection limits and wrappers), an admin who signed in with a
// second factor searches over the console's live socket; alice, no admin,
// is refused it.
func TestConsoleLiveSearchServed(t *testing.T) {
	c := &cli{data: filepath.Join(t.TempDir(), "data"), env: testEnv(), tr: &transcript{}, served: true}
	srv := startServer(t, c.data, c.env, nil)
	const pw = "correct horse battery staple"
	for _, uid := range []string{"boss", "alice"} {
		c.okIn(t, pw, "user", "add", uid, "--mail", uid+"@example.com", "--password-stdin")
	}
	c.ok(t, "group", "add-member", "admins", "boss")
	base := "http://" + srv.httpAddr
	dial := func(jar http.CookieJar) (*websocket.Conn, *http.Response, error) {
		d := websocket.Dialer{Jar: jar, HandshakeTimeout: 5 * time.Second}
		return d.Dial("ws://"+srv.httpAddr+"/admin/live", http.Header{"Origin": {base}})
	}
	bossJar, _ := cookiejar.New(nil)
	mfaEnroll(t, &http.Client{Jar: bossJar, Timeout: 10 * time.Second}, base, "/admin/users", "boss", pw)
	conn, resp, err := dial(bossJar)
	if err != nil {
		t.Fatalf("the admin's live socket: %v (%v)", err, resp)
	}
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var answer struct {
		ID    int
		Users []struct{ UID string }
	}
	if err := conn.WriteJSON(map[string]any{"id": 1, "kind": "users", "q": "ali"}); err != nil {
		t.Fatal(err)
	}
	if err := conn.ReadJSON(&answer); err != nil || answer.ID != 1 || len(answer.Users) != 1 || answer.Users[0].UID != "alice" {
		t.Fatalf("a live search for ali: %+v, %v", answer, err)
	}
	aliceJar, _ := cookiejar.New(nil)
	alice := &http.Client{Jar: aliceJar, Timeout: 10 * time.Second}
	resp, err = alice.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if status, _ := mfaSubmit(t, alice, base, string(body), url.Values{"username": {"alice"}, "password": {pw}}); status != http.StatusOK {
		t.Fatalf("alice's sign-in: %d", status)
	}
	if conn, resp, err := dial(aliceJar); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		if conn != nil {
			conn.Close()
		}
		t.Errorf("alice's live socket: %v, %v; want 403", resp, err)
	}
}
