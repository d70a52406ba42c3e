package console_test

import (
	"context"
	"crypto/rand"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/console"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/otp"
	"github.com/atrium-dir/atrium/portal"
	"github.com/atrium-dir/atrium/samlidp"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/totp"
)

// site is Atrium's web front end as cmd/atrium wires it (sign-in,
// self-service, console) over a real directory, on loopback.
type site struct {
	t     testing.TB
	srv   *httptest.Server
	d     *directory.Directory
	clock *dirtest.Clock
	// console is the site's console.
	console *console.Console
	// secrets are the TOTP seeds of the users given one.
	secrets map[string][]byte
}

// newSite serves the web front end over a directory holding admin (in
// admins), alice (a user) and an ops group, each user with password
// "<uid>-password" and, with factors, an authenticator app.
func newSite(t testing.TB, policy directory.MFAPolicy, factors bool) *site {
	t.Helper()
	return newSiteWith(t, policy, factors, nil, console.Options{})
}

// newSiteWith is newSite with load run on the directory first, and the
// console built with opts.
func newSiteWith(t testing.TB, policy directory.MFAPolicy, factors bool, load func(*directory.Directory) error, opts console.Options) *site {
	t.Helper()
	return newSiteOn(t, directory.Options{MFA: policy}, factors, load, opts)
}

// newSiteOn is newSiteWith over a directory opened with dopt (its clock,
// hashing and secrets key are the site's).
func newSiteOn(t testing.TB, dopt directory.Options, factors bool, load func(*directory.Directory) error, opts console.Options) *site {
	t.Helper()
	clock := dirtest.NewClock(time.Now().UTC().Truncate(time.Second))
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "atrium.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	dopt.Now, dopt.PasswordParams, dopt.SecretKey = clock.Now, password.TestParams, key
	d, err := directory.New(context.Background(), s, dopt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if load != nil {
		if err := load(d); err != nil {
			t.Fatal(err)
		}
	}
	st := &site{t: t, d: d, clock: clock, secrets: map[string][]byte{}}
	st.addUser("admin", "Ada Admin", factors)
	st.addUser("alice", "Alice Liddell", factors)
	ctx := context.Background()
	if _, err := d.CreateGroup(ctx, directory.Group{CN: "admins"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ChangeMembers(ctx, "admins", []directory.MemberRef{{Name: "admin"}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CreateGroup(ctx, directory.Group{CN: "ops", Description: "Operations"}); err != nil {
		t.Fatal(err)
	}

	st.srv = httptest.NewUnstartedServer(nil)
	t.Cleanup(st.srv.Close)
	ext, _ := url.Parse("http://" + st.srv.Listener.Addr().String())
	e := signin.New(d, signin.Options{ExternalURL: ext, Now: clock.Now})
	otp.Register(e, d)
	if err := samlidp.EnsureKey(ctx, d); err != nil {
		t.Fatal(err)
	}
	idp := samlidp.New(d, e, samlidp.Options{Now: clock.Now})
	opts.Now = clock.Now
	c := console.New(d, e, opts)
	st.console = c
	p := portal.New(d, e, portal.Options{Now: clock.Now, IsAdmin: c.IsAdmin})
	mux := http.NewServeMux()
	e.Mount(mux)
	c.Mount(mux)
	mux.Handle("/saml/", idp.Handler())
	mux.Handle("/", p.Handler())
	st.srv.Config.Handler = mux
	st.srv.Start()
	return st
}

func (st *site) addUser(uid, name string, factor bool) {
	t := st.t
	t.Helper()
	ctx := context.Background()
	u, err := st.d.CreateUser(ctx, directory.User{UID: uid, Mail: uid + "@example.com", DisplayName: name})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.d.SetPassword(ctx, uid, uid+"-password"); err != nil {
		t.Fatal(err)
	}
	if !factor {
		return
	}
	secret, err := st.d.BeginTOTP(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.CodeAt(secret, totp.Step(st.clock.Now()))
	if _, err := st.d.ConfirmTOTP(ctx, u.ID, "Phone", code, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	st.secrets[uid] = secret
	st.clock.Advance(30 * time.Second) // the next code is a new one
}

// client is one browser over HTTP: it keeps cookies and sees every
// redirect.
type client struct {
	t    testing.TB
	st   *site
	base string
	c    *http.Client
}

func (st *site) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: st.t, st: st, base: st.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *client) do(method, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	if !strings.HasPrefix(path, "http") {
		path = b.base + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp, string(raw)
}

func (b *client) get(path string) (*http.Response, string) { return b.do("GET", path, nil) }

var hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// signIn opens path, signs uid in with their password and, when they have
// one, a code from their authenticator app, follows the redirects and
// returns the page it ends on: the one path names, a refusal, or a sign-in
// step it cannot do (enrolling a factor).
func (b *client) signIn(path, uid string) (*http.Response, string) {
	b.t.Helper()
	resp, body := b.get(path)
	for i := 0; i < 12; i++ {
		if resp.StatusCode == http.StatusSeeOther {
			resp, body = b.get(resp.Header.Get("Location"))
			continue
		}
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, "/login") {
			return resp, body
		}
		form := url.Values{}
		for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		switch {
		case strings.Contains(body, `name="password"`):
			form.Set("username", uid)
			form.Set("password", uid+"-password")
		case strings.Contains(body, `id="second-factor"`) && b.st.secrets[uid] != nil:
			code, _ := totp.CodeAt(b.st.secrets[uid], totp.Step(b.st.clock.Now()))
			form.Set("code", code)
		default:
			return resp, body
		}
		resp, body = b.do("POST", "/login", form)
	}
	return resp, body
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// submit posts form to path with the CSRF token of the page at from.
func (b *client) submit(from, path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	_, page := b.get(from)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no CSRF token on %s:\n%s", from, page)
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", m[1])
	return b.do("POST", path, form)
}

// addApp registers a SAML app named name, as `atrium app add` does.
func (st *site) addApp(name string) {
	st.t.Helper()
	spec := samlidp.AppSpec{Name: name, EntityID: "https://" + name + ".example.com/sp", ACS: "https://" + name + ".example.com/acs"}
	if _, err := samlidp.Register(context.Background(), st.d, spec); err != nil {
		st.t.Fatal(err)
	}
}
