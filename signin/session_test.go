package signin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/internal/sitetest"
)

// newSite serves the sign-in and self-service pages at external, with alice
// (password "alice-password") in the directory.
func newSite(t *testing.T, external string) (*httptest.Server, *directory.Directory) {
	t.Helper()
	d := dirtest.New(t, nil)
	if _, err := d.CreateUser(context.Background(), directory.User{UID: "alice", Mail: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(context.Background(), "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	ext, _ := url.Parse(external)
	srv := httptest.NewServer(sitetest.Handler(d, ext, nil))
	t.Cleanup(srv.Close)
	return srv, d
}

// signIn walks the login page with a client that does not follow
// redirects, returning every Set-Cookie seen and the final response.
func signIn(t *testing.T, srv *httptest.Server) ([]*http.Cookie, *http.Response) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var cookies []*http.Cookie
	get := func(u string) *http.Response {
		resp, err := c.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		cookies = append(cookies, resp.Cookies()...)
		return resp
	}
	resp := get(srv.URL + "/login") // starts a flow
	resp = get(srv.URL + resp.Header.Get("Location"))
	body, _ := io.ReadAll(resp.Body)
	form := sitetest.FlowFields(url.Values{"username": {"alice"}, "password": {"alice-password"}}, string(body))
	resp, err := c.PostForm(srv.URL+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	cookies = append(cookies, resp.Cookies()...)
	resp = get(srv.URL + resp.Header.Get("Location")) // finishes the flow
	return cookies, resp
}

func TestCookiesAndHeaders(t *testing.T) {
	for _, external := range []string{"http://localhost:8080", "https://sso.example.com"} {
		t.Run(external, func(t *testing.T) {
			srv, _ := newSite(t, external)
			cookies, resp := signIn(t, srv)
			var session *http.Cookie
			for _, c := range cookies {
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
					t.Errorf("cookie %s: HttpOnly=%v SameSite=%v", c.Name, c.HttpOnly, c.SameSite)
				}
				if c.Secure != strings.HasPrefix(external, "https") {
					t.Errorf("cookie %s: Secure=%v with external URL %s", c.Name, c.Secure, external)
				}
				if c.Name == "atrium_session" {
					session = c
				}
			}
			if session == nil || len(session.Value) < 32 {
				t.Fatalf("no session cookie after sign-in: %v", cookies)
			}
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
				t.Errorf("after sign-in: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			for h, want := range map[string]string{"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"} {
				if !strings.Contains(resp.Header.Get(h), want) {
					t.Errorf("header %s = %q, want %q in it", h, resp.Header.Get(h), want)
				}
			}
		})
	}
}

func TestNewSessionIDAtEverySignIn(t *testing.T) {
	srv, _ := newSite(t, "http://localhost:8080")
	id := func() string {
		cookies, _ := signIn(t, srv)
		for _, c := range cookies {
			if c.Name == "atrium_session" {
				return c.Value
			}
		}
		t.Fatal("no session cookie")
		return ""
	}
	if a, b := id(), id(); a == b {
		t.Error("two sign-ins got the same session id")
	}
}

func TestSessionsSurviveRestart(t *testing.T) {
	srv, d := newSite(t, "http://localhost:8080")
	cookies, _ := signIn(t, srv)
	// A second server over the same store (a restarted server) honours
	// the session.
	p2 := sitetest.Handler(d, nil, nil)
	req := httptest.NewRequest("GET", "/", nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	p2.ServeHTTP(w, req)
	if !strings.Contains(w.Body.String(), "Signed in as") {
		t.Errorf("session lost across servers:\n%s", w.Body.String())
	}
}

// A session the pages have just checked (and remember checking) ends at
// once when its user is disabled, or signed out everywhere by another
// server over the same store.
func TestRememberedSessionEndsWithItsUser(t *testing.T) {
	ctx := context.Background()
	srv, d := newSite(t, "http://localhost:8080")
	page := func(cookies []*http.Cookie) string {
		req, _ := http.NewRequest("GET", srv.URL+"/", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return string(body)
	}
	for _, end := range []struct {
		name string
		do   func() error
	}{
		{"disabled", func() error {
			_, err := d.UpdateUser(ctx, "alice", func(u *directory.User) error { u.Disabled = true; return nil })
			return err
		}},
		{"password changed", func() error { return d.SetPassword(ctx, "alice", "alice-password") }},
	} {
		if _, err := d.UpdateUser(ctx, "alice", func(u *directory.User) error { u.Disabled = false; return nil }); err != nil {
			t.Fatal(err)
		}
		cookies, _ := signIn(t, srv)
		for range 2 {
			if body := page(cookies); !strings.Contains(body, "Signed in as") {
				t.Fatalf("%s: the signed-in page is not shown:\n%.300s", end.name, body)
			}
		}
		if err := end.do(); err != nil {
			t.Fatal(err)
		}
		if body := page(cookies); strings.Contains(body, "Signed in as") {
			t.Errorf("%s: the session still lives", end.name)
		}
	}
}
