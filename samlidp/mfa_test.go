package samlidp_test

import (
	"context"
	"encoding/base32"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/crewjam/saml"

	"github.com/atrium-dir/atrium/samlidp"
	"github.com/atrium-dir/atrium/totp"
)

var (
	mfaSecretRE = regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`)
	mfaCodesRE  = regexp.MustCompile(`<li><code>([a-z0-9-]+)</code></li>`)
)

const mfaACS = "https://grafana.example.com/saml/acs"

func mfaApp(h *harness) *saml.ServiceProvider {
	h.addApp(samlidp.AppSpec{Name: "grafana", EntityID: "https://grafana.example.com", ACS: mfaACS, RequireMFA: true})
	return h.sp("https://grafana.example.com", mfaACS)
}

// mfaCode is the current TOTP code of secret by the harness clock.
func mfaCode(t *testing.T, h *harness, secret []byte) string {
	t.Helper()
	code, err := totp.CodeAt(secret, totp.Step(h.clock.Now()))
	must(t, err)
	return code
}

// mfaSubmit posts the first form of p with the extra fields set.
func (b *browser) mfaSubmit(base string, p page, fields url.Values) page {
	b.t.Helper()
	_, form := p.form()
	for k, v := range fields {
		form[k] = v
	}
	return b.post(base+"/login", form)
}

func (b *browser) mfaHasSession(base string) bool { return b.mfaSession(base) != "" }

// mfaSession is the browser's session cookie, or "".
func (b *browser) mfaSession(base string) string {
	u, _ := url.Parse(base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == "atrium_session" {
			return c.Value
		}
	}
	return ""
}

func mfaCheckAssertion(t *testing.T, sp *saml.ServiceProvider, raw []byte, reqID string) {
	t.Helper()
	acs, _ := url.Parse(mfaACS)
	a, err := sp.ParseXMLResponse(raw, []string{reqID}, *acs)
	if err != nil {
		t.Fatalf("the SP refused the response: %v", err)
	}
	if got := a.AuthnStatements[0].AuthnContext.AuthnContextClassRef.Value; got != "https://refeds.org/profile/mfa" {
		t.Errorf("AuthnContextClassRef = %s, want the REFEDS MFA profile", got)
	}
	if got := attributeValues(a, "amr"); !slices.Equal(got, []string{"pwd", "otp", "mfa"}) {
		t.Errorf("amr = %q", got)
	}
}

// An app with RequireMFA takes a user without a factor through TOTP
// enrollment (QR code, text secret, first code, recovery codes) before any
// session or assertion exists; the assertion then says MFA.
func TestRequireMFAEnrollsThenAsserts(t *testing.T) {
	h := newHarness(t)
	sp := mfaApp(h)
	b := newBrowser(t)
	login, reqID := startRedirect(t, h, b, sp, "")
	enroll := b.signIn(h.srv.URL, login, "alice", "alice-password")
	m := mfaSecretRE.FindStringSubmatch(enroll.body)
	if m == nil || !strings.Contains(enroll.body, `src="data:image/png;base64,`) {
		t.Fatalf("expected the enrollment page with a QR code and the secret, got %d:\n%s", enroll.status, enroll.body)
	}
	if b.mfaHasSession(h.srv.URL) {
		t.Fatal("a session exists before the second factor")
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(m[1], " ", ""))
	must(t, err)

	// Reloading shows the same secret: the user may have scanned it already.
	if again := b.get(enroll.url); !strings.Contains(again.body, m[0]) {
		t.Fatal("a reload changed the secret")
	}
	wrong := b.mfaSubmit(h.srv.URL, enroll, url.Values{"code": {"000000"}})
	if wrong.status != http.StatusUnauthorized || !mfaSecretRE.MatchString(wrong.body) {
		t.Fatalf("wrong code: %d\n%s", wrong.status, wrong.body)
	}

	codes := b.mfaSubmit(h.srv.URL, enroll, url.Values{"code": {mfaCode(t, h, secret)}})
	shown := mfaCodesRE.FindAllStringSubmatch(codes.body, -1)
	if len(shown) != 10 {
		t.Fatalf("expected 10 recovery codes, got %d:\n%s", len(shown), codes.body)
	}
	if b.mfaHasSession(h.srv.URL) {
		t.Fatal("a session exists before the recovery codes were acknowledged")
	}
	done := b.mfaSubmit(h.srv.URL, codes, nil)
	raw, _ := samlResponse(t, done, mfaACS)
	mfaCheckAssertion(t, sp, raw, reqID)

	fs, err := h.dir.Factors(context.Background(), mfaUserID(t, h, "alice"))
	must(t, err)
	if len(fs) != 1 || fs[0].Kind != "totp" {
		t.Fatalf("factors = %+v", fs)
	}
	// The codes were shown once: the flow is finished and its page gone.
	if gone := b.get(codes.url); strings.Contains(gone.body, shown[0][1]) {
		t.Fatal("the recovery codes were shown again")
	}
}

func mfaUserID(t *testing.T, h *harness, uid string) string {
	t.Helper()
	u, err := h.dir.User(context.Background(), uid)
	must(t, err)
	return u.ID
}

// A password-only session reaching an app with RequireMFA is stepped up:
// the user proves their factor without typing the password again, and the
// assertion says MFA. A passive request is refused instead.
func TestRequireMFAStepsUpPasswordSession(t *testing.T) {
	h := newHarness(t)
	sp := mfaApp(h)
	cloudflareApp(h)
	b := newBrowser(t)
	ctx := context.Background()

	// alice signs in to an app that does not require MFA, with a password.
	cf := h.sp(cloudflareACS, cloudflareACS)
	login, _ := startRedirect(t, h, b, cf, "")
	samlResponse(t, b.signIn(h.srv.URL, login, "alice", "alice-password"), cloudflareACS)

	// She enrolls an authenticator app afterwards (as on the account page).
	id := mfaUserID(t, h, "alice")
	secret, err := h.dir.BeginTOTP(ctx, id)
	must(t, err)
	_, err = h.dir.ConfirmTOTP(ctx, id, "Phone", mfaCode(t, h, secret), "192.0.2.1")
	must(t, err)
	h.clock.Advance(totp.Period)

	// Passive: no page may be shown, so the request is refused.
	req, err := sp.MakeAuthenticationRequest(h.srv.URL+"/saml/sso", saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	must(t, err)
	passive := true
	req.IsPassive = &passive
	u, err := req.Redirect("", sp)
	must(t, err)
	refused := b.get(u.String())
	if _, form := refused.form(); refused.status != http.StatusForbidden || form.Get("SAMLResponse") == "" {
		t.Fatalf("passive request with a password-only session: %d\n%s", refused.status, refused.body)
	}

	before := b.mfaSession(h.srv.URL)
	step, reqID := startRedirect(t, h, b, sp, "")
	if strings.Contains(step.body, `name="password"`) || !strings.Contains(step.body, `name="kind" value="totp"`) {
		t.Fatalf("expected the second-factor page, got %d:\n%s", step.status, step.body)
	}
	done := b.mfaSubmit(h.srv.URL, step, url.Values{"code": {mfaCode(t, h, secret)}})
	raw, _ := samlResponse(t, done, mfaACS)
	mfaCheckAssertion(t, sp, raw, reqID)
	if after := b.mfaSession(h.srv.URL); before == "" || after == "" || after == before {
		t.Errorf("the step-up kept the session id (before %q, after %q)", before, after)
	}

	// bob has no factor: a stolen session cookie alone must not enroll
	// one, so he signs in with his password again, then enrolls.
	b2 := newBrowser(t)
	h.addApp(samlidp.AppSpec{Name: "wiki", EntityID: "https://wiki.example.com", ACS: "https://wiki.example.com/acs"})
	wiki := h.sp("https://wiki.example.com", "https://wiki.example.com/acs")
	login, _ = startRedirect(t, h, b2, wiki, "")
	samlResponse(t, b2.signIn(h.srv.URL, login, "bob", "bob-password"), "https://wiki.example.com/acs")
	again, _ := startRedirect(t, h, b2, sp, "")
	enroll := b2.signIn(h.srv.URL, again, "bob", "bob-password")
	if !mfaSecretRE.MatchString(enroll.body) {
		t.Fatalf("expected enrollment after the password, got %d:\n%s", enroll.status, enroll.body)
	}
}

// A user with a factor proves it with a recovery code once; the spent code
// is refused the next time.
func TestRecoveryCodeSignsInOnce(t *testing.T) {
	h := newHarness(t)
	sp := mfaApp(h)
	ctx := context.Background()
	id := mfaUserID(t, h, "alice")
	secret, err := h.dir.BeginTOTP(ctx, id)
	must(t, err)
	_, err = h.dir.ConfirmTOTP(ctx, id, "Phone", mfaCode(t, h, secret), "192.0.2.1")
	must(t, err)
	codes, err := h.dir.NewRecoveryCodes(ctx, id)
	must(t, err)

	for i, want := range []int{http.StatusOK, http.StatusUnauthorized} {
		b := newBrowser(t)
		login, reqID := startRedirect(t, h, b, sp, "")
		mfa := b.signIn(h.srv.URL, login, "alice", "alice-password")
		_, form := mfa.form()
		recovery := b.get(h.srv.URL + "/login?flow=" + form.Get("flow") + "&kind=recovery")
		if !strings.Contains(recovery.body, `name="kind" value="recovery"`) {
			t.Fatalf("no recovery code form:\n%s", recovery.body)
		}
		done := b.mfaSubmit(h.srv.URL, recovery, url.Values{"code": {codes[0]}})
		if done.status != want {
			t.Fatalf("use %d: status %d, want %d:\n%s", i+1, done.status, want, done.body)
		}
		if want == http.StatusOK {
			raw, _ := samlResponse(t, done, mfaACS)
			mfaCheckAssertion(t, sp, raw, reqID)
		}
	}
}
