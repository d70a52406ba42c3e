package otp_test

import (
	"context"
	"encoding/base32"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/internal/sitetest"
	"github.com/atrium-dir/atrium/portal"
	"github.com/atrium-dir/atrium/totp"
)

// ssServe serves the sign-in and self-service pages as cmd/atrium does,
// with sections added between the authenticator app's and the recovery
// codes', over a real directory on the clock now with alice and bob in it.
// Tests that make codes from the real time run on time.Now.
func ssServe(t *testing.T, now func() time.Time, sections ...portal.AccountSection) (*directory.Directory, *httptest.Server) {
	t.Helper()
	d := dirtest.New(t, now)
	ctx := context.Background()
	for _, uid := range []string{"alice", "bob"} {
		if _, err := d.CreateUser(ctx, directory.User{UID: uid, Mail: uid + "@example.com"}); err != nil {
			t.Fatal(err)
		}
		if err := d.SetPassword(ctx, uid, uid+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	ext, _ := url.Parse("http://localhost:8080")
	srv := httptest.NewServer(sitetest.Handler(d, ext, now, sections...))
	t.Cleanup(srv.Close)
	return d, srv
}

// ssBrowser is one browser: its own cookie jar, redirects not followed.
type ssBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
}

// ssSignIn signs uid in through the login page with a fresh browser.
func ssSignIn(t *testing.T, srv *httptest.Server, uid string) *ssBrowser {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &ssBrowser{t: t, base: srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	b.signInFrom("/", uid)
	return b
}

// signInFrom opens path, which must send the browser to the login page,
// and signs uid in there.
func (b *ssBrowser) signInFrom(path, uid string) {
	t := b.t
	t.Helper()
	resp, _ := b.get(path)
	resp, body := b.get(resp.Header.Get("Location"))
	form := sitetest.FlowFields(url.Values{"username": {uid}, "password": {uid + "-password"}}, body)
	resp, _ = b.post("/login", form)
	for i := 0; i < 5 && resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") != "/"; i++ {
		resp, _ = b.get(resp.Header.Get("Location"))
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/" {
		t.Fatalf("sign-in of %s ended with %d to %q", uid, resp.StatusCode, loc)
	}
}

func (b *ssBrowser) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, html.UnescapeString(string(body))
}

func (b *ssBrowser) get(path string) (*http.Response, string) {
	b.t.Helper()
	if !strings.HasPrefix(path, "http") {
		path = b.base + path
	}
	req, _ := http.NewRequest("GET", path, nil)
	return b.do(req)
}

func (b *ssBrowser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var ssCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page fetches the self-service page, which must be served.
func (b *ssBrowser) page() string {
	b.t.Helper()
	resp, body := b.get("/")
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("account page: %d\n%s", resp.StatusCode, body)
	}
	return body
}

// csrf is the CSRF token of the self-service page.
func (b *ssBrowser) csrf() string {
	b.t.Helper()
	m := ssCSRF.FindStringSubmatch(b.page())
	if m == nil {
		b.t.Fatal("no CSRF token on the account page")
	}
	return m[1]
}

// submit posts form to path with the page's CSRF token.
func (b *ssBrowser) submit(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", b.csrf())
	return b.post(path, form)
}

func ssWantStatus(t *testing.T, resp *http.Response, body string, status int, text string) {
	t.Helper()
	if resp.StatusCode != status || !strings.Contains(body, text) {
		t.Fatalf("got %d, want %d with %q in:\n%s", resp.StatusCode, status, text, body)
	}
}

var (
	ssTOTPSecret = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)<`)
	ssCodes      = regexp.MustCompile(`<li><code>([a-z0-9-]+)</code></li>`)
)

// ssEnrollApp enrolls an authenticator app called name through the pages
// and returns its secret and the recovery codes shown, if any.
func ssEnrollApp(t *testing.T, b *ssBrowser, name string) ([]byte, []string) {
	t.Helper()
	resp, body := b.submit("/account/totp", nil)
	ssWantStatus(t, resp, body, http.StatusOK, `src="data:image/png;base64,`)
	m := ssTOTPSecret.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no text secret on the enrollment page:\n%s", body)
	}
	text := strings.ReplaceAll(m[1], " ", "")
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(text)
	if err != nil {
		t.Fatal(err)
	}
	token := ssCSRF.FindStringSubmatch(body)[1]
	code, err := totp.CodeAt(secret, totp.Step(time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	resp, body = b.post("/account/totp/confirm", url.Values{"csrf": {token}, "secret": {text}, "name": {name}, "code": {code}})
	if resp.StatusCode == http.StatusSeeOther {
		return secret, nil
	}
	ssWantStatus(t, resp, body, http.StatusOK, "Your recovery codes")
	return secret, codesIn(body)
}

func codesIn(body string) []string {
	var codes []string
	for _, c := range ssCodes.FindAllStringSubmatch(body, -1) {
		codes = append(codes, c[1])
	}
	return codes
}

// An authenticator app is added from the self-service page: a wrong code
// shows the same enrollment again; the right one adds it, with the first
// recovery codes shown once; a second app comes without new codes, back on
// the page with a notice.
func TestAddAuthenticatorApp(t *testing.T) {
	d, srv := ssServe(t, time.Now)
	b := ssSignIn(t, srv, "alice")
	u, _ := d.User(context.Background(), "alice")

	resp, body := b.submit("/account/totp", nil)
	secret := strings.ReplaceAll(ssTOTPSecret.FindStringSubmatch(body)[1], " ", "")
	token := ssCSRF.FindStringSubmatch(body)[1]
	resp, body = b.post("/account/totp/confirm", url.Values{"csrf": {token}, "secret": {secret}, "name": {"Phone"}, "code": {"000000"}})
	ssWantStatus(t, resp, body, http.StatusForbidden, "That code is not right")
	if !strings.Contains(body, `name="secret" value="`+secret+`"`) || !strings.Contains(body, "data:image/png;base64,") {
		t.Errorf("the refused enrollment does not show the secret again:\n%s", body)
	}
	if fs, _ := d.Factors(context.Background(), u.ID); len(fs) != 0 {
		t.Fatalf("a wrong code enrolled %v", fs)
	}
	// A secret that is no secret cannot be shown again: start over.
	resp, body = b.post("/account/totp/confirm", url.Values{"csrf": {token}, "secret": {"nonsense"}, "name": {"Phone"}, "code": {"000000"}})
	ssWantStatus(t, resp, body, http.StatusForbidden, "Start again with Add an authenticator app")
	if !strings.Contains(body, `href="/#authenticator"`) {
		t.Errorf("no way back to the section:\n%s", body)
	}

	enrolled, codes := ssEnrollApp(t, b, "Phone")
	if len(codes) != directory.RecoveryCodeCount {
		t.Fatalf("first factor came with %d recovery codes, want %d", len(codes), directory.RecoveryCodeCount)
	}
	page := b.page()
	for _, want := range []string{"<strong>Phone</strong>", "Authenticator app", "You have <strong>10</strong> unused recovery codes"} {
		if !strings.Contains(page, want) {
			t.Errorf("account page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, codes[0]) || strings.Contains(page, totp.EncodeSecret(enrolled)) {
		t.Error("a secret is shown again on the account page")
	}
	// The enrolled secret signs in; the enrollment's own code was spent.
	next, _ := totp.CodeAt(enrolled, totp.Step(time.Now())+1)
	if err := d.VerifyTOTP(context.Background(), u.ID, next, "192.0.2.1", "web"); err != nil {
		t.Errorf("enrolled secret refused: %v", err)
	}
	if _, more := ssEnrollApp(t, b, "Tablet"); more != nil {
		t.Errorf("second factor replaced the recovery codes: %v", more)
	}
	if fs, _ := d.Factors(context.Background(), u.ID); len(fs) != 2 {
		t.Errorf("factors after two enrollments: %v", fs)
	}
	resp, body = b.get("/?done=factor-added")
	ssWantStatus(t, resp, body, http.StatusOK, "The sign-in method is added.")
}

func TestMakeNewRecoveryCodes(t *testing.T) {
	ctx := context.Background()
	d, srv := ssServe(t, time.Now)
	b := ssSignIn(t, srv, "alice")
	u, _ := d.User(ctx, "alice")

	// No factor, no codes.
	resp, body := b.submit("/account/recovery-codes", nil)
	ssWantStatus(t, resp, body, http.StatusConflict, "Add one first")

	_, old := ssEnrollApp(t, b, "Phone")
	for _, c := range old[:7] {
		if _, err := d.UseRecoveryCode(ctx, u.ID, c, "192.0.2.1", "web"); err != nil {
			t.Fatal(err)
		}
	}
	page := b.page()
	if !strings.Contains(page, "You have <strong>3</strong> unused recovery codes") || !strings.Contains(page, "Few recovery codes are left") {
		t.Errorf("no warning with 3 codes left:\n%s", page)
	}

	resp, body = b.submit("/account/recovery-codes", nil)
	ssWantStatus(t, resp, body, http.StatusOK, "Recovery codes replaced")
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("codes page cacheable: %q", resp.Header.Get("Cache-Control"))
	}
	fresh := codesIn(body)
	if len(fresh) != directory.RecoveryCodeCount {
		t.Fatalf("regenerated %d codes:\n%s", len(fresh), body)
	}
	if _, err := d.UseRecoveryCode(ctx, u.ID, old[8], "192.0.2.1", "web"); !errors.Is(err, directory.ErrBadCode) {
		t.Errorf("old code after regeneration: %v, want ErrBadCode", err)
	}
	if left, err := d.UseRecoveryCode(ctx, u.ID, fresh[0], "192.0.2.1", "web"); err != nil || left != 9 {
		t.Errorf("new code: %d left, %v", left, err)
	}
	page = b.page()
	if strings.Contains(page, fresh[1]) || strings.Contains(page, "Few recovery codes") {
		t.Errorf("codes shown again, or a warning with 9 left:\n%s", page)
	}
}

// A first factor that came without recovery codes (a passkey, whose page
// asks for them next) gets them under "Your recovery codes": nothing is
// replaced yet. Making them again replaces them.
func TestFirstRecoveryCodes(t *testing.T) {
	ctx := context.Background()
	d, srv := ssServe(t, time.Now)
	b := ssSignIn(t, srv, "alice")
	u, _ := d.User(ctx, "alice")
	if _, err := d.AddFactor(ctx, u.ID, directory.Factor{Kind: directory.FactorPasskey, Name: "Laptop"}, nil); err != nil {
		t.Fatal(err)
	}
	resp, body := b.submit("/account/recovery-codes", nil)
	ssWantStatus(t, resp, body, http.StatusOK, "<h1>Your recovery codes</h1>")
	if strings.Contains(body, "replaced") || strings.Contains(body, "older codes") {
		t.Errorf("first recovery codes are said to replace others:\n%s", body)
	}
	resp, body = b.submit("/account/recovery-codes", nil)
	ssWantStatus(t, resp, body, http.StatusOK, "Recovery codes replaced")
	if !strings.Contains(body, "Your older codes no longer work") {
		t.Errorf("replaced codes without saying the old ones are void:\n%s", body)
	}
}

// The forms refuse a post without the session's own CSRF token.
func TestSelfServiceFormsNeedCSRF(t *testing.T) {
	d, srv := ssServe(t, time.Now)
	alice := ssSignIn(t, srv, "alice")
	bobToken := ssSignIn(t, srv, "bob").csrf()
	for path, form := range map[string]url.Values{
		"/account/totp":           {},
		"/account/totp/confirm":   {"code": {"123456"}, "secret": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		"/account/recovery-codes": {},
	} {
		for _, token := range []string{"", bobToken} {
			f := url.Values{"csrf": {token}}
			for k, v := range form {
				f[k] = v
			}
			resp, body := alice.post(path, f)
			ssWantStatus(t, resp, body, http.StatusForbidden, "This form has expired")
		}
	}
	u, _ := d.User(context.Background(), "alice")
	if left, _ := d.RecoveryCodesLeft(context.Background(), u.ID); left != 0 {
		t.Errorf("%d recovery codes made without a CSRF token", left)
	}
}

// A quarter of an hour after signing in, adding an app or making recovery
// codes asks for a fresh sign-in first, from a form or a script; after it,
// they go through.
func TestSelfServiceNeedsRecentSignIn(t *testing.T) {
	clock := dirtest.NewClock(time.Now())
	d, srv := ssServe(t, clock.Now)
	b := ssSignIn(t, srv, "alice")
	u, _ := d.User(context.Background(), "alice")
	clock.Advance(16 * time.Minute)
	for _, path := range []string{"/account/totp", "/account/recovery-codes"} {
		resp, body := b.submit(path, nil)
		ssWantStatus(t, resp, body, http.StatusForbidden, "sign in again first")
		if !strings.Contains(body, `href="/account/sign-in-again"`) {
			t.Errorf("%s: no way to sign in again:\n%s", path, body)
		}
	}
	req, _ := http.NewRequest("POST", srv.URL+"/account/recovery-codes", nil)
	req.Header.Set("X-CSRF-Token", b.csrf())
	resp, body := b.do(req)
	var refusal struct{ Error string }
	if resp.StatusCode != http.StatusForbidden || json.Unmarshal([]byte(body), &refusal) != nil || !strings.Contains(refusal.Error, "sign in again") {
		t.Errorf("script request: %d %s", resp.StatusCode, body)
	}
	if left, _ := d.RecoveryCodesLeft(context.Background(), u.ID); left != 0 {
		t.Fatalf("%d recovery codes made without a recent sign-in", left)
	}

	b.signInFrom("/account/sign-in-again", "alice")
	if _, err := d.AddFactor(context.Background(), u.ID, directory.Factor{Kind: directory.FactorPasskey, Name: "Laptop"}, nil); err != nil {
		t.Fatal(err)
	}
	resp, body = b.submit("/account/recovery-codes", nil)
	ssWantStatus(t, resp, body, http.StatusOK, "Your recovery codes")
	resp, body = b.submit("/account/totp", nil)
	ssWantStatus(t, resp, body, http.StatusOK, `id="totp-secret"`)
}
