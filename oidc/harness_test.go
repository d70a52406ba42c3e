package oidc_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/internal/sitetest"
	"github.com/atrium-dir/atrium/oidc"
)

// The fixture: alice (staff, and through staff also everyone), bob
// (contractors), carol (staff). Passwords are "<uid>-password". The
// relying party's redirect URI never has to answer: the test browser
// stops there and reads the code from the URL.
const redirectURI = "http://127.0.0.1:1/callback"

// The harness's clock is real time plus an offset: ID tokens are dated by
// the library with the real clock, codes by the directory's.
type harness struct {
	t     *testing.T
	dir   *directory.Directory
	srv   *httptest.Server
	clock *dirtest.OffsetClock
	op    *oidc.Provider
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, clock: &dirtest.OffsetClock{}}
	h.dir = dirtest.New(t, h.clock.Now)
	dirtest.AddPeople(t, h.dir)
	h.srv = httptest.NewUnstartedServer(nil)
	t.Cleanup(h.srv.Close)
	ext, _ := url.Parse("http://" + h.srv.Listener.Addr().String())
	mux, e := sitetest.New(h.dir, ext, h.clock.Now)
	var err error
	h.op, err = oidc.New(ctx, h.dir, e, oidc.Options{Now: h.clock.Now})
	must(t, err)
	h.op.Mount(mux)
	h.srv.Config.Handler = mux
	h.srv.Start()
	return h
}

// TestMain quiets the library, which logs every refusal the negative
// tests provoke through slog's default logger.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rp is a relying party: go-oidc and x/oauth2 against the harness.
type rp struct {
	h        *harness
	app      directory.App
	secret   string
	provider *gooidc.Provider
	conf     oauth2.Config
	verifier *gooidc.IDTokenVerifier
}

// addClient registers an OIDC app and builds its relying party from
// discovery.
func (h *harness) addClient(name string, c directory.OIDCClient, groups []string, requireMFA bool) *rp {
	h.t.Helper()
	if len(c.RedirectURIs) == 0 {
		c.RedirectURIs = []string{redirectURI}
	}
	app, secret, err := h.dir.CreateOIDCApp(context.Background(), directory.App{Name: name, OIDC: &c, Groups: groups, RequireMFA: requireMFA})
	must(h.t, err)
	p, err := gooidc.NewProvider(context.Background(), h.srv.URL)
	must(h.t, err)
	return &rp{h: h, app: app, secret: secret, provider: p,
		conf: oauth2.Config{ClientID: app.OIDC.ClientID, ClientSecret: secret, Endpoint: p.Endpoint(), RedirectURL: redirectURI,
			Scopes: []string{gooidc.ScopeOpenID, "profile", "email", "groups", gooidc.ScopeOfflineAccess}},
		verifier: p.Verifier(&gooidc.Config{ClientID: app.OIDC.ClientID}),
	}
}

// browser is a cookie-keeping HTTP client that stops at the relying
// party's redirect URI.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), redirectURI) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return &browser{t: t, client: c}
}

type page struct {
	status int
	url    string
	body   string
	// callback is the redirect to the relying party, when the browser
	// stopped there.
	callback url.Values
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	// mod_auth_openidc answers 401 instead of a redirect to what does not
	// look like a browser.
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := b.client.Do(req)
	must(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, url: resp.Request.URL.String(), body: string(body)}
	loc := resp.Header.Get("Location")
	if m := continueRE.FindStringSubmatch(p.body); m != nil {
		// The page after the sign-in form moves on by script, as a
		// browser would.
		if loc = html.UnescapeString(m[1]); !strings.HasPrefix(loc, redirectURI) {
			return b.get(loc)
		}
	}
	if strings.HasPrefix(loc, redirectURI) {
		u, err := url.Parse(loc)
		must(b.t, err)
		p.callback = u.Query()
	}
	return p
}

var continueRE = regexp.MustCompile(`<a id="continue" class="button" href="([^"]+)">`)

func (b *browser) get(u string) page {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) page {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var inputRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// submit posts the sign-in form on p with fields added.
func (b *browser) submit(base string, p page, fields url.Values) page {
	b.t.Helper()
	form := url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(p.body, -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	for k, v := range fields {
		form[k] = v
	}
	return b.post(base+"/login", form)
}

// signIn fills the login page p with user's password.
func (b *browser) signIn(base string, p page, user string) page {
	b.t.Helper()
	if !strings.Contains(p.body, `name="password"`) {
		b.t.Fatalf("expected the login page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	return b.submit(base, p, url.Values{"username": {user}, "password": {user + "-password"}})
}

// authorize opens the client's authorization URL with opts.
func (r *rp) authorize(b *browser, state string, opts ...oauth2.AuthCodeOption) page {
	return b.get(r.conf.AuthCodeURL(state, opts...))
}

// login runs a whole sign-in as user with PKCE and a nonce and returns
// the code and the verifier.
func (r *rp) login(b *browser, user string) (code, verifier string) {
	r.h.t.Helper()
	verifier = oauth2.GenerateVerifier()
	p := r.authorize(b, "state-1", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("nonce-1"))
	done := b.signIn(r.h.srv.URL, p, user)
	if done.callback.Get("code") == "" || done.callback.Get("state") != "state-1" {
		r.h.t.Fatalf("expected a code for state-1, got %d %v:\n%s", done.status, done.callback, done.body)
	}
	return done.callback.Get("code"), verifier
}

// exchange trades code for tokens and verifies the ID token.
func (r *rp) exchange(code, verifier string) (*oauth2.Token, *gooidc.IDToken) {
	r.h.t.Helper()
	ctx := context.Background()
	tok, err := r.conf.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	must(r.h.t, err)
	raw, _ := tok.Extra("id_token").(string)
	id, err := r.verifier.Verify(ctx, raw)
	must(r.h.t, err)
	return tok, id
}

// oauthError is the OAuth error code in err from x/oauth2, or "".
func oauthError(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func decodeJSON(resp *http.Response, v any) error {
	return json.NewDecoder(resp.Body).Decode(v)
}

// jsonPart decodes part i of a compact JWT.
func jsonPart(raw string, i int) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[i])
}
