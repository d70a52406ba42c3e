package signin_test

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/internal/sitetest"
	"github.com/atrium-dir/atrium/internal/testenv"
	"github.com/atrium-dir/atrium/totp"
)

// mfaDir is a directory with policy, on clock, with alice (password
// "alice-password") in it.
func mfaDir(t *testing.T, policy directory.MFAPolicy, clock func() time.Time) *directory.Directory {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "atrium.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	d, err := directory.New(context.Background(), s, directory.Options{Now: clock, PasswordParams: password.TestParams, SecretKey: key, MFA: policy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx := context.Background()
	if _, err := d.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := d.SetPassword(ctx, "alice", "alice-password"); err != nil {
		t.Fatal(err)
	}
	return d
}

// mfaServe serves the sign-in and self-service pages over a directory with
// policy, with alice in it.
func mfaServe(t *testing.T, policy directory.MFAPolicy) (*httptest.Server, *directory.Directory, *dirtest.Clock) {
	t.Helper()
	clock := dirtest.NewClock(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC))
	d := mfaDir(t, policy, clock.Now)
	ext, _ := url.Parse("http://localhost")
	srv := httptest.NewServer(sitetest.Handler(d, ext, clock.Now))
	t.Cleanup(srv.Close)
	return srv, d, clock
}

// mfaBrowser keeps cookies and does not follow redirects, so every step
// of the flow is seen.
type mfaBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func mfaNewBrowser(t *testing.T, srv *httptest.Server) *mfaBrowser {
	jar, _ := cookiejar.New(nil)
	return &mfaBrowser{t: t, base: srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *mfaBrowser) read(resp *http.Response, err error) (*http.Response, string) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Cache-Control") != "no-store" {
		b.t.Errorf("%s %s: Cache-Control %q, want no-store", resp.Request.Method, resp.Request.URL.Path, resp.Header.Get("Cache-Control"))
	}
	return resp, string(body)
}

// follow GETs Location until a page that is not a redirect to /login.
func (b *mfaBrowser) follow(resp *http.Response, body string) (*http.Response, string) {
	b.t.Helper()
	for resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		resp, body = b.read(b.c.Get(b.base + resp.Header.Get("Location")))
	}
	return resp, body
}

var mfaHiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// submit posts the first form of body with fields and follows the flow.
func (b *mfaBrowser) submit(body string, fields url.Values) (*http.Response, string) {
	b.t.Helper()
	form := url.Values{}
	for _, m := range mfaHiddenRE.FindAllStringSubmatch(body, -1) {
		if form.Get(m[1]) == "" {
			form.Set(m[1], m[2])
		}
	}
	for k, v := range fields {
		form[k] = v
	}
	return b.follow(b.read(b.c.PostForm(b.base+"/login", form)))
}

func (b *mfaBrowser) session() string { return sitetest.SessionCookie(b.c, b.base) }

// sessionCookie is the session token client holds for base, or "".
// signInPassword opens /login and submits alice's password.
func (b *mfaBrowser) signInPassword() (*http.Response, string) {
	b.t.Helper()
	_, body := b.follow(b.read(b.c.Get(b.base + "/login")))
	return b.submit(body, url.Values{"username": {"alice"}, "password": {"alice-password"}})
}

var (
	mfaSecretRE = regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`)
	mfaCodesRE  = regexp.MustCompile(`<li><code>([a-z0-9-]+)</code></li>`)
)

func mfaOathtool(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	out, err := exec.Command(testenv.Tool(t, "oathtool", "oathtool"), "--totp", "-b", "--now", at.UTC().Format("2006-01-02 15:04:05 UTC"), secret).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// A user the policy covers, without a factor, is taken through enrollment
// before any session exists; each form needs the flow's CSRF token; the
// next sign-in asks for the code, and wrong codes end in "Too many
// attempts", like wrong passwords.
func TestMFAPolicyForcesEnrollment(t *testing.T) {
	srv, d, clock := mfaServe(t, directory.MFAPolicy{All: true})
	b := mfaNewBrowser(t, srv)
	resp, enroll := b.signInPassword()
	m := mfaSecretRE.FindStringSubmatch(enroll)
	if resp.StatusCode != http.StatusOK || m == nil || !strings.Contains(enroll, `src="data:image/png;base64,`) {
		t.Fatalf("expected enrollment after the password, got %d:\n%s", resp.StatusCode, enroll)
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	if b.session() != "" {
		t.Fatal("a session exists before the second factor")
	}

	forged := strings.Replace(enroll, `name="csrf" value="`, `name="csrf" value="x`, 1)
	if resp, _ := b.submit(forged, url.Values{"code": {mfaOathtool(t, secret, clock.Now())}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a form with a wrong CSRF token: %d", resp.StatusCode)
	}
	if fs, _ := d.Factors(context.Background(), mfaUserID(t, d)); len(fs) != 0 {
		t.Fatal("the forged form enrolled a factor")
	}

	resp, codes := b.submit(enroll, url.Values{"code": {mfaOathtool(t, secret, clock.Now())}})
	if shown := mfaCodesRE.FindAllStringSubmatch(codes, -1); resp.StatusCode != http.StatusOK || len(shown) != 10 {
		t.Fatalf("expected 10 recovery codes, got %d:\n%s", resp.StatusCode, codes)
	}
	if b.session() != "" {
		t.Fatal("a session exists before the recovery codes were acknowledged")
	}
	resp, _ = b.submit(codes, nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || b.session() == "" {
		t.Fatalf("finishing: %d to %q, session %q", resp.StatusCode, resp.Header.Get("Location"), b.session())
	}

	// Next sign-in, in another browser, half a minute later.
	clock.Advance(30 * time.Second)
	b2 := mfaNewBrowser(t, srv)
	resp, ask := b2.signInPassword()
	if resp.StatusCode != http.StatusOK || !strings.Contains(ask, `name="kind" value="totp"`) || !strings.Contains(ask, "kind=recovery") {
		t.Fatalf("expected the TOTP form with a recovery-code link, got %d:\n%s", resp.StatusCode, ask)
	}
	for i := 0; ; i++ {
		resp, body := b2.submit(ask, url.Values{"code": {"12345x"}})
		if resp.StatusCode == http.StatusTooManyRequests {
			if !strings.Contains(body, "Too many attempts") {
				t.Fatalf("throttled page:\n%s", body)
			}
			break
		}
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "That code is not right") || i > 10 {
			t.Fatalf("wrong code %d: %d\n%s", i, resp.StatusCode, body)
		}
	}
	if b2.session() != "" {
		t.Fatal("wrong codes led to a session")
	}
	// The address was slowed for seconds; the flow lasts 15 minutes.
	clock.Advance(time.Minute)
	resp, _ = b2.submit(ask, url.Values{"code": {mfaOathtool(t, secret, clock.Now())}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" || b2.session() == "" {
		t.Fatalf("right code after the wait: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

func mfaUserID(t *testing.T, d *directory.Directory) string {
	t.Helper()
	u, err := d.User(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// Without a policy, a user with no factor signs in with the password
// alone, and one with a factor is asked for it.
func TestSecondFactorOnlyWhenEnrolledOrRequired(t *testing.T) {
	srv, d, clock := mfaServe(t, directory.MFAPolicy{})
	b := mfaNewBrowser(t, srv)
	if resp, _ := b.signInPassword(); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("password-only sign-in without factors: %d", resp.StatusCode)
	}
	ctx := context.Background()
	id := mfaUserID(t, d)
	secret, err := d.BeginTOTP(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ConfirmTOTP(ctx, id, "Phone", mfaOathtool(t, totp.EncodeSecret(secret), clock.Now()), "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	resp, body := mfaNewBrowser(t, srv).signInPassword()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="kind" value="totp"`) || strings.Contains(body, "kind=recovery") {
		t.Fatalf("with a factor (and no recovery codes): %d\n%s", resp.StatusCode, body)
	}
}
