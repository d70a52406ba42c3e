package passkey

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/browser"
	"github.com/atrium-dir/atrium/signin"
)

// TestPasskeyInChromium registers a passkey on the self-service page with
// Chromium's virtual authenticator (and sees the recovery codes that come
// with a first factor), signs out, signs in with the password
// and the passkey, is refused when the authenticator answers with the wrong
// key for the registered credential, and passes again with the right one;
// screenshots of each page.
func TestPasskeyInChromium(t *testing.T) {
	s := newPKServer(t)
	alice := s.userWithPassword(t, "alice")
	b := browser.New(t)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	authenticator := pkVirtualAuthenticator(t, b)

	signInWithPassword := func() {
		t.Helper()
		step("password",
			chromedp.Navigate(s.origin+"/"),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), "alice"),
			chromedp.SendKeys(chromedp.ID("password"), "correct horse"),
			chromedp.Submit(chromedp.ID("password")),
		)
	}
	signOut := func() {
		t.Helper()
		step("sign out",
			chromedp.Navigate(s.origin+"/"),
			chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		)
		step("signed out", chromedp.WaitVisible(chromedp.Search(`//h1[text()="Signed out"]`)))
	}

	// Register on the self-service page.
	signInWithPassword()
	step("account page", chromedp.WaitVisible(chromedp.ID("passkey-name")))
	browser.Screenshot(t, b, "account")
	step("register",
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Laptop"),
		chromedp.Click(chromedp.CSS(`form[data-passkey-register] button`)),
	)
	// The first second factor comes with recovery codes, shown once.
	step("recovery codes", chromedp.WaitVisible(chromedp.ID("recovery-codes")))
	browser.Screenshot(t, b, "recovery-codes")
	if title, err := chromedp.Run(b, chromedp.Text(chromedp.CSS("h1"))); err != nil || title != "Your recovery codes" {
		t.Errorf("the first recovery codes are titled %q (%v), want \"Your recovery codes\"", title, err)
	}
	if left, err := s.dir.RecoveryCodesLeft(s.ctx, alice.ID); err != nil || left != directory.RecoveryCodeCount {
		t.Errorf("recovery codes left: %d, %v", left, err)
	}
	step("the passkey in the list",
		chromedp.Navigate(s.origin+"/"),
		chromedp.WaitVisible(chromedp.Search(`//section[@id="factors"]//li//strong[text()="Laptop"]`)),
	)
	browser.Screenshot(t, b, "registered")

	factors, err := s.dir.Factors(s.ctx, alice.ID)
	if err != nil || len(factors) != 1 || factors[0].Kind != directory.FactorPasskey || factors[0].Name != "Laptop" {
		t.Fatalf("factors %+v, %v; want the passkey Laptop", factors, err)
	}
	held, err := chromedp.Call(b, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authenticator})
	if err != nil || len(held.Credentials) != 1 {
		t.Fatalf("credentials in the authenticator: %v, %v", held, err)
	}
	cred := held.Credentials[0]
	handle := uuid.MustParse(alice.ID)
	if cred.RpID != "localhost" || !bytes.Equal(cred.UserHandle, handle[:]) || !cred.IsResidentCredential {
		t.Errorf("authenticator holds rp %q handle %x resident %v", cred.RpID, cred.UserHandle, cred.IsResidentCredential)
	}

	// Sign out, and in again with the password and the passkey.
	signOut()
	signInWithPassword()
	step("second factor", chromedp.WaitVisible(chromedp.CSS(`[data-passkey-start]`)))
	browser.Screenshot(t, b, "passkey-step")
	step("use the passkey", chromedp.Click(chromedp.CSS(`[data-passkey-start]`)))
	step("signed in", chromedp.WaitVisible(chromedp.ID("passkey-name")))
	sess := pkBrowserSession(t, b, s)
	if sess.UserID != alice.ID || !slices.Contains(sess.Methods, MethodHWK) || !slices.Contains(sess.Methods, "pwd") {
		t.Fatalf("session %+v, want alice with pwd and %s", sess, MethodHWK)
	}
	after, err := chromedp.Call(b, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authenticator})
	if err != nil {
		t.Fatal(err)
	}
	stored := s.storedCredential(t, alice, factors[0])
	if stored.Authenticator.SignCount == 0 || float64(stored.Authenticator.SignCount) != after.Credentials[0].SignCount {
		t.Errorf("stored counter %d, authenticator's %v", stored.Authenticator.SignCount, after.Credentials[0].SignCount)
	}

	// The authenticator now answers for the same credential id with
	// another key: the sign-in is refused and no session begins.
	signOut()
	wrong, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(wrong)
	if err != nil {
		t.Fatal(err)
	}
	real := after.Credentials[0]
	copyOf := func(key []byte, count float64) pkCredential {
		return pkCredential{
			CredentialID: real.CredentialID, IsResidentCredential: true, RpID: real.RpID,
			PrivateKey: key, UserHandle: real.UserHandle, SignCount: count,
		}
	}
	forged := copyOf(pkcs8, real.SignCount+10)
	if _, err := chromedp.Call(b, webauthn.ClearCredentials, webauthn.ClearCredentialsParams{AuthenticatorID: authenticator}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b, pkAddCredential, pkAddCredentialParams{AuthenticatorID: authenticator, Credential: forged}); err != nil {
		t.Fatal(err)
	}
	signInWithPassword()
	step("second factor again", chromedp.WaitVisible(chromedp.CSS(`[data-passkey-start]`)))
	step("use the wrong key", chromedp.Click(chromedp.CSS(`[data-passkey-start]`)))
	step("the refusal", chromedp.WaitVisible(chromedp.Search(`//p[contains(@class, "error") and contains(., "not accepted")]`)))
	browser.Screenshot(t, b, "wrong-key")
	if sess, ok := pkSessionFromCookies(t, b, s); ok {
		t.Fatalf("a session began with the wrong key: %+v", sess)
	}

	// The right key again, from the page that showed the refusal.
	if _, err := chromedp.Call(b, webauthn.ClearCredentials, webauthn.ClearCredentialsParams{AuthenticatorID: authenticator}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(b, pkAddCredential, pkAddCredentialParams{AuthenticatorID: authenticator, Credential: copyOf(real.PrivateKey, real.SignCount)}); err != nil {
		t.Fatal(err)
	}
	step("use the right key", chromedp.Click(chromedp.CSS(`[data-passkey-start]`)))
	step("signed in after the refusal", chromedp.WaitVisible(chromedp.ID("passkey-name")))
	if sess := pkBrowserSession(t, b, s); !slices.Contains(sess.Methods, MethodHWK) {
		t.Errorf("session methods %v, want %s", sess.Methods, MethodHWK)
	}
}

// pkVirtualAuthenticator gives the browser a platform authenticator (like
// a phone's or a laptop's) that verifies its user and answers at once.
func pkVirtualAuthenticator(t *testing.T, b context.Context) webauthn.AuthenticatorID {
	t.Helper()
	if _, err := chromedp.Call(b, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	added, err := chromedp.Call(b, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol:                    webauthn.AuthenticatorProtocolCtap2,
		Ctap2version:                webauthn.Ctap2versionCtap21,
		Transport:                   webauthn.AuthenticatorTransportInternal,
		HasResidentKey:              true,
		HasUserVerification:         true,
		IsUserVerified:              true,
		AutomaticPresenceSimulation: true,
	}})
	if err != nil {
		t.Fatal(err)
	}
	return added.AuthenticatorID
}

// pkAddCredential is WebAuthn.addCredential with only the fields a plain
// authenticator takes: cdproto's Credential always sends those of the CMTG
// extension, which Chromium refuses for an authenticator without it.
var pkAddCredential = cdp.Command[pkAddCredentialParams, cdp.Empty]{Method: webauthn.CommandAddCredential}

type pkAddCredentialParams struct {
	AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
	Credential      pkCredential             `json:"credential"`
}

type pkCredential struct {
	CredentialID         []byte  `json:"credentialId"`
	IsResidentCredential bool    `json:"isResidentCredential"`
	RpID                 string  `json:"rpId"`
	PrivateKey           []byte  `json:"privateKey"` // PKCS#8
	UserHandle           []byte  `json:"userHandle"`
	SignCount            float64 `json:"signCount"`
}

// pkSessionFromCookies returns the sign-in session the browser's cookies
// hold.
func pkSessionFromCookies(t *testing.T, b context.Context, s *pkServer) (signin.Session, bool) {
	t.Helper()
	res, err := chromedp.Call(b, network.GetCookies, network.GetCookiesParams{URLs: []string{s.origin + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	for _, c := range res.Cookies {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	return s.signin.Session(httptest.NewRecorder(), r)
}

func pkBrowserSession(t *testing.T, b context.Context, s *pkServer) signin.Session {
	t.Helper()
	sess, ok := pkSessionFromCookies(t, b, s)
	if !ok {
		t.Fatal("the browser holds no session")
	}
	return sess
}
