package portal_test

import (
	"context"
	"crypto/rand"
	"errors"
	"html"
	"html/template"
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

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/internal/sitetest"
	"github.com/atrium-dir/atrium/portal"
	"github.com/atrium-dir/atrium/signin"
)

// acctDir is a real directory on a temporary bbolt file with opt (for the
// MFA policy and Samba), alice and bob in it.
func acctDir(t *testing.T, opt directory.Options) *directory.Directory {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "atrium.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	opt.PasswordParams = password.TestParams
	opt.SecretKey = make([]byte, 32)
	rand.Read(opt.SecretKey)
	d, err := directory.New(context.Background(), s, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx := context.Background()
	for _, uid := range []string{"alice", "bob"} {
		if _, err := d.CreateUser(ctx, directory.User{UID: uid, Mail: uid + "@example.com", DisplayName: strings.ToUpper(uid[:1]) + uid[1:] + " Example"}); err != nil {
			t.Fatal(err)
		}
		if err := d.SetPassword(ctx, uid, uid+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// acctServe serves a portal over d at a real loopback address.
func acctServe(t *testing.T, d *directory.Directory, external string, sections ...portal.AccountSection) *httptest.Server {
	t.Helper()
	ext, err := url.Parse(external)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sitetest.Handler(d, ext, nil, sections...))
	t.Cleanup(srv.Close)
	return srv
}

// acctBrowser is one browser: its own cookie jar, redirects not followed.
type acctBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func acctNewBrowser(t *testing.T, srv *httptest.Server) *acctBrowser {
	jar, _ := cookiejar.New(nil)
	return &acctBrowser{t: t, base: srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// acctSignIn signs uid in through the login page with a fresh browser.
func acctSignIn(t *testing.T, srv *httptest.Server, uid string) *acctBrowser {
	t.Helper()
	b := acctNewBrowser(t, srv)
	b.signInFrom("/", uid)
	return b
}

// signInFrom opens path, which must send the browser to the login page,
// and signs uid in there.
func (b *acctBrowser) signInFrom(path, uid string) {
	t := b.t
	t.Helper()
	resp, _ := b.get(path)
	resp, body := b.get(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Fatalf("login page: %d\n%s", resp.StatusCode, body)
	}
	form := sitetest.FlowFields(url.Values{"username": {uid}, "password": {uid + "-password"}}, body)
	resp, _ = b.post("/login", form)
	for i := 0; i < 5 && resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") != "/"; i++ {
		resp, _ = b.get(resp.Header.Get("Location"))
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/" {
		t.Fatalf("sign-in of %s ended with %d to %q", uid, resp.StatusCode, loc)
	}
}

func (b *acctBrowser) do(req *http.Request) (*http.Response, string) {
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
	return resp, string(body)
}

func (b *acctBrowser) get(path string) (*http.Response, string) {
	b.t.Helper()
	if !strings.HasPrefix(path, "http") {
		path = b.base + path
	}
	req, _ := http.NewRequest("GET", path, nil)
	return b.do(req)
}

func (b *acctBrowser) post(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var acctCSRF = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// page fetches the self-service page, which must be served.
func (b *acctBrowser) page() string {
	b.t.Helper()
	resp, body := b.get("/")
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("account page: %d\n%s", resp.StatusCode, body)
	}
	return html.UnescapeString(body)
}

// submit posts form to path with the page's CSRF token.
func (b *acctBrowser) submit(path string, form url.Values) (*http.Response, string) {
	b.t.Helper()
	m := acctCSRF.FindStringSubmatch(b.page())
	if m == nil {
		b.t.Fatal("no CSRF token on the account page")
	}
	if form == nil {
		form = url.Values{}
	}
	form.Set("csrf", m[1])
	resp, body := b.post(path, form)
	return resp, html.UnescapeString(body)
}

func acctWantRedirect(t *testing.T, resp *http.Response, body, prefix string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), prefix) {
		t.Fatalf("got %d to %q, want a redirect to %s\n%s", resp.StatusCode, resp.Header.Get("Location"), prefix, body)
	}
}

func acctWantStatus(t *testing.T, resp *http.Response, body string, status int, text string) {
	t.Helper()
	if resp.StatusCode != status || !strings.Contains(body, text) {
		t.Fatalf("got %d, want %d with %q in:\n%s", resp.StatusCode, status, text, body)
	}
}

func acctLogin(d *directory.Directory, name, pw string, appPasswords bool) (directory.Principal, error) {
	return d.Authenticate(context.Background(), directory.Login{Kind: directory.KindUser, Name: name, Password: pw, Remote: "192.0.2.50", Service: "ldap", AppPasswords: appPasswords})
}

func TestAccountPageHeaders(t *testing.T) {
	d := acctDir(t, directory.Options{})
	srv := acctServe(t, d, "http://localhost:8080")
	b := acctSignIn(t, srv, "alice")
	resp, body := b.get("/")
	acctWantStatus(t, resp, body, http.StatusOK, "Signed in as <strong>Alice Example</strong> (alice)")
	for h, want := range map[string]string{"Cache-Control": "no-store", "Content-Security-Policy": "script-src 'self'", "X-Frame-Options": "DENY"} {
		if !strings.Contains(resp.Header.Get(h), want) {
			t.Errorf("%s = %q, want %q in it", h, resp.Header.Get(h), want)
		}
	}
	// Not signed in: the page starts a sign-in, a form is refused.
	anon := acctNewBrowser(t, srv)
	resp, _ = anon.get("/")
	acctWantRedirect(t, resp, "", "/login?flow=")
	resp, body = anon.post("/account/app-passwords", url.Values{"name": {"NAS"}})
	acctWantStatus(t, resp, body, http.StatusUnauthorized, "no longer signed in")
}

func TestAccountPasswordChange(t *testing.T) {
	d := acctDir(t, directory.Options{Samba: true})
	srv := acctServe(t, d, "http://localhost:8080")
	here, there := acctSignIn(t, srv, "alice"), acctSignIn(t, srv, "alice")
	bobs := acctSignIn(t, srv, "bob")

	refusals := []struct {
		current, next, confirm string
		status                 int
		text                   string
	}{
		{"wrong-password", "new-password-1", "new-password-1", http.StatusForbidden, "current password is incorrect"},
		{"", "new-password-1", "new-password-1", http.StatusBadRequest, "Enter your current password"},
		{"alice-password", "new-password-1", "new-password-2", http.StatusBadRequest, "differ"},
		{"alice-password", "short", "short", http.StatusBadRequest, "at least 8 characters"},
		// The password policy: a common password, and alice's own name.
		{"alice-password", "qwerty123!", "qwerty123!", http.StatusBadRequest, "most commonly used"},
		{"alice-password", "Alice.Wonderland", "Alice.Wonderland", http.StatusBadRequest, "your own name"},
		{"alice-password", "alice-password", "alice-password", http.StatusBadRequest, "same as the current one"},
	}
	for _, r := range refusals {
		resp, body := here.submit("/account/password", url.Values{"current": {r.current}, "new": {r.next}, "confirm": {r.confirm}})
		acctWantStatus(t, resp, body, r.status, r.text)
	}
	if _, err := acctLogin(d, "alice", "alice-password", false); err != nil {
		t.Fatalf("the password changed after refusals: %v", err)
	}
	// The wrong current password went through Authenticate: audited.
	events, err := d.AuditEvents(context.Background(), directory.AuditQuery{Subject: "alice", Kind: "login"})
	if err != nil {
		t.Fatal(err)
	}
	audited := false
	for _, e := range events {
		audited = audited || (e.Service == "account" && e.Result == directory.ResultBadPassword)
	}
	if !audited {
		t.Errorf("no audited failure of the current password check: %+v", events)
	}

	resp, body := here.submit("/account/password", url.Values{"current": {"alice-password"}, "new": {"new-password-1"}, "confirm": {"new-password-1"}})
	acctWantRedirect(t, resp, body, "/?done=password")
	resp, body = here.get(resp.Header.Get("Location"))
	acctWantStatus(t, resp, body, http.StatusOK, "Your password is changed")
	resp, _ = there.get("/")
	acctWantRedirect(t, resp, "", "/login?flow=")
	bobs.page() // another user's session is untouched

	if _, err := acctLogin(d, "alice", "new-password-1", false); err != nil {
		t.Errorf("new password refused: %v", err)
	}
	if _, err := acctLogin(d, "alice", "alice-password", false); !errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("old password: %v, want refused", err)
	}
	u, _ := d.User(context.Background(), "alice")
	nt, err := d.NTHash(context.Background(), u.ID)
	if err != nil || string(nt) != string(password.NTHash("new-password-1")) {
		t.Errorf("Samba NT hash not updated: %x, %v", nt, err)
	}
}

func TestAccountPasswordCheckBackoff(t *testing.T) {
	// The directory's clock stands still, so a block never runs out.
	start := time.Now()
	d := acctDir(t, directory.Options{Now: func() time.Time { return start }, Backoff: directory.BackoffConfig{AddressFreeFailures: 2}})
	srv := acctServe(t, d, "http://localhost:8080")
	b := acctSignIn(t, srv, "alice")
	change := url.Values{"current": {"guess"}, "new": {"new-password-1"}, "confirm": {"new-password-1"}}
	for range 3 {
		resp, body := b.submit("/account/password", change)
		acctWantStatus(t, resp, body, http.StatusForbidden, "current password is incorrect")
	}
	// Guessing from this page slows down like guessing at the login page;
	// even the right password waits.
	change.Set("current", "alice-password")
	resp, body := b.submit("/account/password", change)
	acctWantStatus(t, resp, body, http.StatusTooManyRequests, "Too many attempts. Wait")
	if _, err := acctLogin(d, "alice", "new-password-1", false); err == nil {
		t.Error("the password changed while throttled")
	}
}

func TestAccountFormsNeedCSRF(t *testing.T) {
	d := acctDir(t, directory.Options{})
	srv := acctServe(t, d, "http://localhost:8080")
	alice := acctSignIn(t, srv, "alice")
	bob := acctSignIn(t, srv, "bob")
	bobToken := acctCSRF.FindStringSubmatch(bob.page())[1]
	forms := map[string]url.Values{
		"/account/password":             {"current": {"alice-password"}, "new": {"new-password-1"}, "confirm": {"new-password-1"}},
		"/account/app-passwords":        {"name": {"NAS"}},
		"/account/app-passwords/revoke": {"name": {"NAS"}},
		"/account/factors/remove":       {"id": {"x"}},
		"/logout":                       {},
	}
	for path, form := range forms {
		for _, token := range []string{"", bobToken} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if token != "" {
				f.Set("csrf", token)
			}
			resp, body := alice.post(path, f)
			acctWantStatus(t, resp, body, http.StatusForbidden, "This form has expired")
		}
	}
	if _, err := acctLogin(d, "alice", "alice-password", false); err != nil {
		t.Errorf("password changed without a CSRF token: %v", err)
	}
	if aps, _ := d.AppPasswords(context.Background(), "alice"); len(aps) != 0 {
		t.Errorf("app password created without a CSRF token: %v", aps)
	}
	alice.page() // still signed in: logout was refused too
}

var acctRevealed = regexp.MustCompile(`id="revealed-secret">([^<]+)<`)

func TestAccountAppPasswords(t *testing.T) {
	d := acctDir(t, directory.Options{})
	srv := acctServe(t, d, "http://localhost:8080")
	b := acctSignIn(t, srv, "alice")

	resp, body := b.submit("/account/app-passwords", url.Values{"name": {"NAS"}})
	acctWantStatus(t, resp, body, http.StatusOK, "App password for NAS")
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("secret page cacheable: %q", resp.Header.Get("Cache-Control"))
	}
	m := acctRevealed.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no secret on the page:\n%s", body)
	}
	secret := m[1]
	p, err := acctLogin(d, "alice", secret, true)
	if err != nil || p.Method != "app-password:NAS" {
		t.Fatalf("app password does not bind: %+v, %v", p, err)
	}
	page := b.page()
	if strings.Contains(page, secret) {
		t.Error("the app password is shown again on the account page")
	}
	if !strings.Contains(page, "<strong>NAS</strong>") || !strings.Contains(page, "last used") {
		t.Errorf("app password not listed with its last use:\n%s", page)
	}

	resp, body = b.submit("/account/app-passwords", url.Values{"name": {"nas"}})
	acctWantStatus(t, resp, body, http.StatusConflict, "already have an app password with this name")
	resp, body = b.submit("/account/app-passwords", url.Values{"name": {" "}})
	acctWantStatus(t, resp, body, http.StatusBadRequest, "1 to 64 characters")

	resp, body = b.submit("/account/app-passwords/revoke", url.Values{"name": {"NAS"}})
	acctWantRedirect(t, resp, body, "/?done=app-revoked")
	if _, err := acctLogin(d, "alice", secret, true); !errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("revoked app password: %v, want refused", err)
	}
	resp, body = b.submit("/account/app-passwords/revoke", url.Values{"name": {"NAS"}})
	acctWantStatus(t, resp, body, http.StatusNotFound, "no app password with this name")
}

var acctFactorID = regexp.MustCompile(`name="id" value="([0-9a-f]+)"`)

func TestAccountLastFactorRemoval(t *testing.T) {
	ctx := context.Background()
	d := acctDir(t, directory.Options{MFA: directory.MFAPolicy{Groups: []string{"staff"}}})
	if _, err := d.CreateGroup(ctx, directory.Group{CN: "staff"}); err != nil {
		t.Fatal(err)
	}
	srv := acctServe(t, d, "http://localhost:8080")
	b := acctSignIn(t, srv, "alice")
	u, _ := d.User(ctx, "alice")
	addFactor := func(name string) {
		t.Helper()
		if _, err := d.AddFactor(ctx, u.ID, directory.Factor{Kind: directory.FactorPasskey, Name: name}, nil); err != nil {
			t.Fatal(err)
		}
	}
	addFactor("Phone")
	// MFA becomes required once alice is staff (she signed in before, so
	// the login flow had nothing to ask).
	if _, err := d.ChangeMembers(ctx, "staff", []directory.MemberRef{{Name: "alice"}}, nil); err != nil {
		t.Fatal(err)
	}
	page := b.page()
	if !strings.Contains(page, "requires a second sign-in method") {
		t.Errorf("page does not say MFA is required:\n%s", page)
	}
	id := acctFactorID.FindStringSubmatch(page)[1]
	resp, body := b.submit("/account/factors/remove", url.Values{"id": {id}})
	acctWantStatus(t, resp, body, http.StatusConflict, "This is your only sign-in method, and your organisation requires one")
	if fs, _ := d.Factors(ctx, u.ID); len(fs) != 1 {
		t.Fatalf("last factor removed: %v", fs)
	}

	// With a second factor, either may go.
	addFactor("Tablet")
	resp, body = b.submit("/account/factors/remove", url.Values{"id": {id}})
	acctWantRedirect(t, resp, body, "/?done=factor")
	fs, _ := d.Factors(ctx, u.ID)
	if len(fs) != 1 || fs[0].Name != "Tablet" {
		t.Errorf("factors after removing Phone: %v", fs)
	}
	resp, body = b.submit("/account/factors/remove", url.Values{"id": {id}})
	acctWantStatus(t, resp, body, http.StatusNotFound, "no longer exists")
}

func TestAccountRecentSignIns(t *testing.T) {
	ctx := context.Background()
	d := acctDir(t, directory.Options{})
	srv := acctServe(t, d, "http://localhost:8080")
	login := func(name, pw, remote, service string) {
		_, _ = d.Authenticate(ctx, directory.Login{Kind: directory.KindUser, Name: name, Password: pw, Remote: remote, Service: service, AppPasswords: true})
	}
	// A successful password login right after another is not audited again
	// (the directory's bind cache), so alice's one success is the portal's.
	b := acctSignIn(t, srv, "alice")
	login("alice", "wrong-password", "192.0.2.7", "ldap")
	login("alice@example.com", "wrong-password", "192.0.2.8", "web")
	login("bob", "bob-password", "198.51.100.9", "web")
	login("bob", "wrong-password", "198.51.100.10", "ldap")
	d.Audit(directory.AuditEvent{Kind: "assertion", Subject: "alice", Remote: "192.0.2.9", Service: "saml:grafana", Result: directory.ResultOK, Detail: "attributes=mail amr=pwd,otp"})
	d.Audit(directory.AuditEvent{Kind: "assertion", Subject: "bob", Remote: "198.51.100.11", Service: "saml:payroll", Result: directory.ResultOK, Detail: "attributes=mail amr=pwd"})
	// Second factors as the directory and push record them; enrollments
	// are not sign-ins.
	d.Audit(directory.AuditEvent{Kind: "mfa", Subject: "alice", Remote: "192.0.2.10", Service: "web", Result: directory.ResultBadCode, Detail: "totp"})
	d.Audit(directory.AuditEvent{Kind: "mfa", Subject: "alice", Remote: "192.0.2.11", Service: "push", Result: directory.ResultOK, Detail: "push answered: approved; app grafana; transaction 42"})
	d.Audit(directory.AuditEvent{Kind: "mfa", Subject: "alice", Result: directory.ResultEnrolled, Detail: "totp:Phone"})
	acctSignIn(t, srv, "bob")

	page := b.page()
	i := strings.Index(page, `id="sign-ins"`)
	if i < 0 {
		t.Fatalf("no sign-ins section:\n%s", page)
	}
	signIns := page[i:]
	for _, want := range []string{
		"Wrong password", "Device or server (LDAP)", "from 192.0.2.7",
		"from 192.0.2.8", "grafana", "Password + Authenticator code", "from 192.0.2.9",
		"Atrium sign-in page", "from 127.0.0.1",
		"Wrong code", "Authenticator code", "from 192.0.2.10",
		"Push answered: approved", "Phone approval", "from 192.0.2.11",
	} {
		if !strings.Contains(signIns, want) {
			t.Errorf("recent sign-ins lack %q:\n%s", want, signIns)
		}
	}
	for _, other := range []string{"198.51.100.", "payroll", "totp:Phone", "transaction 42"} {
		if strings.Contains(signIns, other) {
			t.Errorf("alice sees bob's sign-in (%s):\n%s", other, signIns)
		}
	}
	// Newest first.
	if strings.Index(signIns, "from 192.0.2.9") > strings.Index(signIns, "from 127.0.0.1") {
		t.Errorf("sign-ins not newest first:\n%s", signIns)
	}
}

func TestAccountApps(t *testing.T) {
	ctx := context.Background()
	d := acctDir(t, directory.Options{})
	members := map[string]directory.MemberRef{"staff": {Name: "alice"}, "engineering": {Name: "staff", Group: true}, "finance": {Name: "bob"}}
	for cn := range members {
		if _, err := d.CreateGroup(ctx, directory.Group{CN: cn}); err != nil {
			t.Fatal(err)
		}
	}
	for cn, m := range members {
		if _, err := d.ChangeMembers(ctx, cn, []directory.MemberRef{m}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []directory.App{
		{Name: "wiki", IdPInitiated: true},
		{Name: "grafana", Groups: []string{"Engineering"}, LaunchURL: "https://grafana.example.com/"},
		{Name: "payroll", Groups: []string{"finance"}, IdPInitiated: true},
		{Name: "mail", LaunchURL: "javascript:alert(1)"},
	} {
		a.EntityID = "https://" + a.Name + ".example.com/saml"
		a.ACS = []directory.Endpoint{{URL: "https://" + a.Name + ".example.com/acs", Binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"}}
		if _, err := d.CreateApp(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	srv := acctServe(t, d, "https://sso.example.com")
	alice := acctSignIn(t, srv, "alice").page()
	i := strings.Index(alice, `id="apps"`)
	apps := alice[i : i+strings.Index(alice[i:], "</section>")]
	for _, want := range []string{
		`<a href="https://sso.example.com/saml/launch/wiki">wiki</a>`,
		`<a href="https://grafana.example.com/">grafana</a>`,
		`<strong>mail</strong> <span class="muted">— open it from its own address`,
	} {
		if !strings.Contains(apps, want) {
			t.Errorf("alice's apps lack %s:\n%s", want, apps)
		}
	}
	if strings.Contains(apps, "payroll") || strings.Contains(apps, "javascript") {
		t.Errorf("alice's apps show payroll or an unsafe link:\n%s", apps)
	}
	bob := acctSignIn(t, srv, "bob").page()
	if !strings.Contains(bob, "/saml/launch/payroll") || strings.Contains(bob, "grafana") {
		t.Errorf("bob's apps do not follow his groups:\n%s", bob)
	}
}

// acctSection is a section added the way the passkey and push packages add
// theirs.
type acctSection struct {
	id       string
	secure   bool
	rendered *int
}

func (s acctSection) ID() string               { return s.id }
func (s acctSection) Title() string            { return "Section " + s.id }
func (s acctSection) NeedsSecureContext() bool { return s.secure }
func (s acctSection) Render(_ context.Context, a signin.Account) (template.HTML, error) {
	*s.rendered++
	if s.id == "broken" {
		return "", errors.New("boom")
	}
	return template.HTML(`<p>body of ` + s.id + ` for ` + template.HTMLEscapeString(a.User.UID) + `</p>`), nil
}

func TestAccountSectionsAndSecureContext(t *testing.T) {
	d := acctDir(t, directory.Options{})
	for _, tc := range []struct {
		external string
		secure   bool
	}{
		{"https://sso.example.com", true},
		{"http://localhost:8080", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:8080", true},
		{"http://atrium.localhost", true},
		{"http://sso.example.lan", false},
		{"http://10.0.0.5:8080", false},
	} {
		t.Run(tc.external, func(t *testing.T) {
			var passkeys, push, plain, broken int
			srv := acctServe(t, d, tc.external,
				acctSection{"passkeys", true, &passkeys}, acctSection{"push", true, &push},
				acctSection{"plain", false, &plain}, acctSection{"broken", false, &broken})
			page := acctSignIn(t, srv, "alice").page()
			for _, id := range []string{"passkeys", "push"} {
				i := strings.Index(page, `<section id="`+id+`">`)
				if i < 0 {
					t.Fatalf("no %s section:\n%s", id, page)
				}
				section := page[i : i+strings.Index(page[i:], "</section>")]
				if tc.secure != strings.Contains(section, "body of "+id+" for alice") {
					t.Errorf("%s rendered=%v in a secure=%v context:\n%s", id, !tc.secure, tc.secure, section)
				}
				if tc.secure == strings.Contains(section, "needs a secure connection") {
					t.Errorf("%s: insecure-context message wrong for secure=%v:\n%s", id, tc.secure, section)
				}
			}
			if !tc.secure && passkeys+push != 0 {
				t.Errorf("sections that need a secure context were rendered %d times", passkeys+push)
			}
			if !strings.Contains(page, "body of plain for alice") || !strings.Contains(page, "This part of the page could not be shown") {
				t.Errorf("plain or broken section wrong:\n%s", page)
			}
			// Added sections sit after the list of sign-in methods, in the
			// order added, and before app passwords.
			order := []string{`id="factors"`, `id="passkeys"`, `id="push"`, `id="plain"`, `id="app-passwords"`}
			for i := 1; i < len(order); i++ {
				if strings.Index(page, order[i-1]) > strings.Index(page, order[i]) {
					t.Errorf("%s comes after %s", order[i-1], order[i])
				}
			}
		})
	}
}
