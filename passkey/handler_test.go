package passkey

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/internal/sitetest"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// pkServer is Atrium's web front wired as cmd/atrium wires it, on
// 127.0.0.1 with the external URL http://localhost:PORT.
type pkServer struct {
	*pkEnv
	signin *signin.Engine
	url    string // how the test reaches it
	origin string // the external URL browsers see
}

// newPKServer starts the server; mounts add more of Atrium's handlers
// beside the sign-in and self-service pages.
func newPKServer(t *testing.T, mounts ...func(*pkServer, *http.ServeMux)) *pkServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ext := must(url.Parse(fmt.Sprintf("http://localhost:%d", port)))
	clock := dirtest.NewClock(time.Now())
	d := dirtest.New(t, clock.Now)
	keys, err := New(d, ext, Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	mux, e := sitetest.New(d, ext, clock.Now, Section{})
	e.AddSecondFactor(keys.SecondFactor())
	s := &pkServer{
		pkEnv:  &pkEnv{ctx: context.Background(), clock: clock, dir: d, keys: keys},
		signin: e, url: "http://" + ln.Addr().String(), origin: ext.String(),
	}
	mux.Handle("/passkey/", web.Protect(NewHandler(keys, e, nil), nil))
	for _, mount := range mounts {
		mount(s, mux)
	}
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return s
}

// userWithPassword creates uid with password "correct horse".
func (s *pkServer) userWithPassword(t *testing.T, uid string) directory.User {
	t.Helper()
	u := s.user(t, uid, strings.ToUpper(uid[:1])+uid[1:])
	if err := s.dir.SetPassword(s.ctx, uid, "correct horse"); err != nil {
		t.Fatal(err)
	}
	return u
}

// pkBrowser is one browser's cookies against a pkServer.
type pkBrowser struct {
	t *testing.T
	s *pkServer
	c *http.Client
}

func (s *pkServer) browser(t *testing.T) *pkBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &pkBrowser{t: t, s: s, c: &http.Client{Jar: jar}}
}

func (b *pkBrowser) do(req *http.Request) (int, string) {
	b.t.Helper()
	// As a laptop's browser, so the phone's prompt can name it.
	req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

func (b *pkBrowser) get(path string) (int, string) {
	b.t.Helper()
	return b.do(must(http.NewRequest("GET", b.s.url+path, nil)))
}

func (b *pkBrowser) postForm(path string, form url.Values) (int, string) {
	b.t.Helper()
	req := must(http.NewRequest("POST", b.s.url+path, strings.NewReader(form.Encode())))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *pkBrowser) postJSON(path, csrf string, v any) (int, string) {
	b.t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		b.t.Fatal(err)
	}
	req := must(http.NewRequest("POST", b.s.url+path, strings.NewReader(string(raw))))
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	return b.do(req)
}

// field returns the value of the input or data attribute name in page.
func field(t *testing.T, page, name string) string {
	t.Helper()
	re := regexp.MustCompile(`(?:name="` + regexp.QuoteMeta(name) + `" value|` + regexp.QuoteMeta(name) + `)="([^"]*)"`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s in page:\n%s", name, page)
	}
	return html.UnescapeString(m[1])
}

// signIn posts the password form and returns the page that follows.
func (b *pkBrowser) password(uid string) (int, string) {
	b.t.Helper()
	_, page := b.get("/login")
	return b.postForm("/login", url.Values{
		"flow": {field(b.t, page, "flow")}, "csrf": {field(b.t, page, "csrf")}, "step": {"password"},
		"username": {uid}, "password": {"correct horse"},
	})
}

// passkey answers the passkey form on page with k.
func (b *pkBrowser) passkey(page string, k *softKey) (int, string) {
	b.t.Helper()
	var opts protocol.CredentialAssertion
	if err := json.Unmarshal([]byte(field(b.t, page, "data-options")), &opts); err != nil {
		b.t.Fatal(err)
	}
	if opts.Response.UserVerification != protocol.VerificationPreferred || opts.Response.RelyingPartyID != "localhost" {
		b.t.Errorf("sign-in options: user verification %q rp %q", opts.Response.UserVerification, opts.Response.RelyingPartyID)
	}
	return b.postForm("/login", url.Values{
		"flow": {field(b.t, page, "flow")}, "csrf": {field(b.t, page, "csrf")}, "step": {"mfa"}, "kind": {"passkey"},
		"ceremony":  {field(b.t, page, "ceremony")},
		"assertion": {string(k.get(Challenge{Options: &opts}))},
	})
}

// register adds a passkey from the account page over the JSON endpoints.
func (b *pkBrowser) register(k *softKey, name string) (int, string) {
	b.t.Helper()
	_, page := b.get("/")
	csrf := field(b.t, page, "data-csrf")
	status, body := b.postJSON(registerBeginPath, csrf, struct{}{})
	if status != http.StatusOK {
		b.t.Fatalf("begin: %d %s", status, body)
	}
	var begun struct {
		Ceremony string                      `json:"ceremony"`
		Options  protocol.CredentialCreation `json:"options"`
	}
	if err := json.Unmarshal([]byte(body), &begun); err != nil {
		b.t.Fatal(err)
	}
	cred := k.create(Challenge{Options: &begun.Options})
	return b.postJSON(registerFinishPath, csrf, map[string]any{"ceremony": begun.Ceremony, "name": name, "credential": json.RawMessage(cred)})
}

// session returns the sign-in session the browser holds.
func (b *pkBrowser) session() (signin.Session, bool) {
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range b.c.Jar.Cookies(must(url.Parse(b.s.url))) {
		r.AddCookie(c)
	}
	return b.s.signin.Session(httptest.NewRecorder(), r)
}

func TestRegisterAndSignInOverHTTP(t *testing.T) {
	s := newPKServer(t)
	alice := s.userWithPassword(t, "alice")
	b := s.browser(t)
	if status, page := b.password("alice"); status != http.StatusOK || !strings.Contains(page, "data-passkey-register") {
		t.Fatalf("account page after password: %d\n%s", status, page)
	}
	k := newSoftKey(t, s.origin, "localhost")
	status, body := b.register(k, "Laptop")
	if status != http.StatusOK || !strings.Contains(body, `"name":"Laptop"`) || !strings.Contains(body, `"recoveryCodes":true`) {
		t.Fatalf("finish registration: %d %s", status, body)
	}
	if _, page := b.get("/"); !strings.Contains(page, "Laptop") {
		t.Errorf("the account page does not list the new passkey")
	}

	// Sign out and in again: the password now leads to the passkey.
	_, page := b.get("/")
	b.postForm("/logout", url.Values{"csrf": {field(t, page, "data-csrf")}})
	status, page = b.password("alice")
	if status != http.StatusOK || !strings.Contains(page, "Use your passkey") || !strings.Contains(page, ScriptPath) {
		t.Fatalf("second-factor page: %d\n%s", status, page)
	}
	status, page = b.passkey(page, k)
	if status != http.StatusOK || !strings.Contains(page, "Your account") {
		t.Fatalf("after the passkey: %d\n%s", status, page)
	}
	sess, ok := b.session()
	if !ok || sess.UserID != alice.ID || !slices.Equal(sess.Methods, []string{"pwd", MethodHWK}) {
		t.Fatalf("session %+v (ok %v), want alice with pwd and hwk", sess, ok)
	}
	factors, _ := s.dir.Factors(s.ctx, alice.ID)
	if len(factors) != 1 || factors[0].LastUsed.IsZero() {
		t.Errorf("factors after sign-in: %+v", factors)
	}
}

func TestSecondFactorRefusalsOverHTTP(t *testing.T) {
	s := newPKServer(t)
	alice := s.userWithPassword(t, "alice")
	k := newSoftKey(t, s.origin, "localhost")
	b := s.browser(t)
	b.password("alice")
	if status, body := b.register(k, "Laptop"); status != http.StatusOK {
		t.Fatalf("register: %d %s", status, body)
	}

	// A key that is not Alice's: refused, and the page asks again.
	b = s.browser(t)
	_, page := b.password("alice")
	stranger := newSoftKey(t, s.origin, "localhost")
	stranger.handle = k.handle
	status, page := b.passkey(page, stranger)
	if status != http.StatusUnauthorized || !strings.Contains(page, "not accepted") || !strings.Contains(page, "Use your passkey") {
		t.Fatalf("stranger's key: %d\n%s", status, page)
	}
	if _, ok := b.session(); ok {
		t.Fatal("a session exists after a refused passkey")
	}
	// The form shown with the refusal carries a fresh ceremony; the right
	// key passes.
	if status, _ := b.passkey(page, k); status != http.StatusOK {
		t.Fatalf("right key after a refusal: %d", status)
	}

	// Once removed, the passkey no longer signs in: with another passkey
	// left, the sign-in offers it and refuses the removed one.
	other := newSoftKey(t, s.origin, "localhost")
	if status, body := b.register(other, "Phone"); status != http.StatusOK {
		t.Fatalf("register second: %d %s", status, body)
	}
	factors, _ := s.dir.Factors(s.ctx, alice.ID)
	laptop := slices.IndexFunc(factors, func(f directory.Factor) bool { return f.Name == "Laptop" })
	if err := s.dir.RemoveFactor(s.ctx, alice.ID, factors[laptop].ID); err != nil {
		t.Fatal(err)
	}
	b = s.browser(t)
	_, page = b.password("alice")
	if status, page := b.passkey(page, k); status != http.StatusUnauthorized {
		t.Fatalf("removed key: %d\n%s", status, page)
	}
	if _, ok := b.session(); ok {
		t.Fatal("a removed passkey signed in")
	}
}

func TestRegistrationEndpointsRefuse(t *testing.T) {
	s := newPKServer(t)
	s.userWithPassword(t, "alice")
	s.userWithPassword(t, "bob")
	alice, bob := s.browser(t), s.browser(t)
	_, page := alice.password("alice")
	aliceCSRF := field(t, page, "data-csrf")
	_, page = bob.password("bob")
	bobCSRF := field(t, page, "data-csrf")

	// Signed out, or without the session's CSRF token: nothing begins.
	if status, _ := s.browser(t).postJSON(registerBeginPath, aliceCSRF, struct{}{}); status != http.StatusUnauthorized {
		t.Errorf("signed out: %d, want 401", status)
	}
	if status, _ := alice.postJSON(registerBeginPath, "", struct{}{}); status != http.StatusForbidden {
		t.Errorf("no CSRF token: %d, want 403", status)
	}
	if status, _ := alice.postJSON(registerBeginPath, bobCSRF, struct{}{}); status != http.StatusForbidden {
		t.Errorf("another session's CSRF token: %d, want 403", status)
	}

	// Bob cannot finish a registration Alice began.
	status, body := alice.postJSON(registerBeginPath, aliceCSRF, struct{}{})
	if status != http.StatusOK {
		t.Fatalf("begin: %d %s", status, body)
	}
	var begun struct {
		Ceremony string                      `json:"ceremony"`
		Options  protocol.CredentialCreation `json:"options"`
	}
	if err := json.Unmarshal([]byte(body), &begun); err != nil {
		t.Fatal(err)
	}
	cred := newSoftKey(t, s.origin, "localhost").create(Challenge{Options: &begun.Options})
	status, body = bob.postJSON(registerFinishPath, bobCSRF, map[string]any{"ceremony": begun.Ceremony, "name": "Mine", "credential": json.RawMessage(cred)})
	if status != http.StatusBadRequest || !strings.Contains(body, ErrCeremony.Error()) {
		t.Errorf("bob finishing alice's ceremony: %d %s", status, body)
	}
	// Bad bodies get a clear answer, not a crash.
	for _, raw := range []string{`{`, `{"ceremony":"x","name":"Key","credential":{}}`, `{"ceremony":"x","name":"","credential":{}}`} {
		req := must(http.NewRequest("POST", s.url+registerFinishPath, strings.NewReader(raw)))
		req.Header.Set("X-CSRF-Token", aliceCSRF)
		status, body := alice.do(req)
		if status != http.StatusBadRequest || !strings.Contains(body, `"error"`) {
			t.Errorf("body %s: %d %s", raw, status, body)
		}
	}
	for _, b := range []*pkBrowser{alice, bob} {
		if _, page := b.get("/"); strings.Contains(page, "Mine") {
			t.Error("a refused registration was stored")
		}
	}
	if status, js := alice.get(ScriptPath); status != http.StatusOK || !strings.Contains(js, "navigator.credentials.create") {
		t.Errorf("script: %d", status)
	}
}

func TestSectionSaysWhyPasskeysAreOff(t *testing.T) {
	_, err := New(dirtest.New(t, nil), must(url.Parse("https://192.0.2.1")), Options{})
	body, renderErr := Section{Off: err}.Render(context.Background(), signin.Account{CSRF: "token"})
	if renderErr != nil {
		t.Fatal(renderErr)
	}
	if !strings.Contains(string(body), "not available here") || strings.Contains(string(body), "data-passkey-register") {
		t.Errorf("section with passkeys off:\n%s", body)
	}
	body, _ = Section{}.Render(context.Background(), signin.Account{CSRF: "token"})
	if !strings.Contains(string(body), `data-csrf="token"`) || !strings.Contains(string(body), ScriptPath) {
		t.Errorf("section:\n%s", body)
	}
}

// Adding a passkey is a new way in: a session signed in more than a
// quarter of an hour ago is asked to sign in again first.
func TestRegistrationNeedsARecentSignIn(t *testing.T) {
	s := newPKServer(t)
	s.userWithPassword(t, "alice")
	alice := s.browser(t)
	_, page := alice.password("alice")
	csrf := field(t, page, "data-csrf")
	s.clock.Advance(16 * time.Minute)
	status, body := alice.postJSON(registerBeginPath, csrf, struct{}{})
	if status != http.StatusForbidden || !strings.Contains(body, "sign in again") {
		t.Errorf("begin after 16 minutes: %d %s", status, body)
	}
}
