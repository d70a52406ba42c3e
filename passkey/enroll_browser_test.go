package passkey

import (
	"net/http"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/browser"
	"github.com/atrium-dir/atrium/internal/samltest"
	"github.com/atrium-dir/atrium/samlidp"
	"github.com/atrium-dir/atrium/web"
)

// TestEnrollPasskeyAtSignInToSAMLApp is a user without a second factor
// opening a SAML app that requires MFA, in headless Chromium with a
// virtual authenticator: after the password the enrollment offers a
// passkey beside the authenticator app; they create one, see their
// recovery codes once, and land at the app with an assertion that says
// MFA by a hardware-bound key. Screenshots of each page.
func TestEnrollPasskeyAtSignInToSAMLApp(t *testing.T) {
	s := newPKServer(t, func(s *pkServer, mux *http.ServeMux) {
		if err := samlidp.EnsureKey(s.ctx, s.dir); err != nil {
			t.Fatal(err)
		}
		mux.Handle("/saml/", web.Protect(samlidp.New(s.dir, s.signin, samlidp.Options{Now: s.clock.Now}).Handler(), nil))
		s.signin.AddEnrollment(s.keys.Enrollment())
	})
	alice := s.userWithPassword(t, "alice")
	sp := samltest.Start(t, s.dir, s.url, samlidp.AppSpec{Name: "wiki", RequireMFA: true})
	b := browser.New(t)
	authenticator := pkVirtualAuthenticator(t, b)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			at, _ := chromedp.Run(b, chromedp.Location())
			t.Fatalf("%s: %v (the browser is at %s)", what, err, at)
		}
	}

	step("open the app and sign in with the password",
		chromedp.Navigate(sp.StartURL()),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`code.secret`)),
	)
	browser.Screenshot(t, b, "enroll-choice")
	step("choose a passkey",
		chromedp.Click(chromedp.CSS(`nav.choices a[href*="kind=passkey"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-passkey-enroll] [data-passkey-start]`)),
	)
	browser.Screenshot(t, b, "enroll-passkey")
	if factors, err := s.dir.Factors(s.ctx, alice.ID); err != nil || len(factors) != 0 {
		t.Fatalf("factors before the passkey: %v, %v", factors, err)
	}
	step("create the passkey",
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Laptop"),
		chromedp.Click(chromedp.CSS(`[data-passkey-start]`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.codes`)),
	)
	browser.Screenshot(t, b, "recovery-codes")
	if sess, ok := pkSessionFromCookies(t, b, s); ok {
		t.Fatalf("a session began before the recovery codes were seen: %+v", sess)
	}
	step("continue to the app",
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("app")),
	)
	browser.Screenshot(t, b, "landing")

	got := samltest.ReadLanding(t, b)
	if got.NameID != "alice@example.com" || got.Class != "https://refeds.org/profile/mfa" ||
		!slices.Contains(got.AMR, MethodHWK) || !slices.Contains(got.AMR, "mfa") || !slices.Contains(got.AMR, "pwd") {
		t.Errorf("the app received NameID %q, class %q, amr %v; want alice's, the MFA class and pwd, hwk, mfa", got.NameID, got.Class, got.AMR)
	}
	factors, err := s.dir.Factors(s.ctx, alice.ID)
	if err != nil || len(factors) != 1 || factors[0].Kind != directory.FactorPasskey || factors[0].Name != "Laptop" {
		t.Errorf("factors %+v, %v; want the passkey Laptop", factors, err)
	}
	if left, err := s.dir.RecoveryCodesLeft(s.ctx, alice.ID); err != nil || left != directory.RecoveryCodeCount {
		t.Errorf("recovery codes left: %d, %v", left, err)
	}
	held, err := chromedp.Call(b, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authenticator})
	if err != nil || len(held.Credentials) != 1 {
		t.Errorf("credentials in the authenticator: %v, %v", held, err)
	}
}
