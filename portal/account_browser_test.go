package portal_test

import (
	"context"
	"encoding/base32"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/internal/browser"
	"github.com/atrium-dir/atrium/totp"
)

// TestAccountBrowser signs in through the real login page in headless
// Chromium, enrolls an authenticator app on the self-service page with the
// secret read from it, and makes new recovery codes, with screenshots of
// each page at desktop and phone widths.
func TestAccountBrowser(t *testing.T) {
	ctx := context.Background()
	d := acctDir(t, directory.Options{})
	if _, err := d.CreateApp(ctx, directory.App{Name: "grafana", EntityID: "https://grafana.example.com/saml", IdPInitiated: true,
		ACS: []directory.Endpoint{{URL: "https://grafana.example.com/acs", Binding: "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddAppPassword(ctx, "alice", "NAS in the office"); err != nil {
		t.Fatal(err)
	}
	srv := acctServe(t, d, "http://localhost:8080")
	u, _ := d.User(ctx, "alice")

	b := browser.New(t)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	codesOnPage := func() []string {
		t.Helper()
		codes, err := chromedp.Run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#recovery-codes code')].map(e => e.textContent)`))
		if err != nil || len(codes) != directory.RecoveryCodeCount {
			t.Fatalf("recovery codes on the page: %q, %v", codes, err)
		}
		return codes
	}

	step("sign in",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "alice-password"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("current")),
	)
	browser.Screenshot(t, b, "account")

	step("start enrollment",
		chromedp.Click(chromedp.CSS(`form[action="/account/totp"] button`)),
		chromedp.WaitVisible(chromedp.ID("totp-secret")),
	)
	loaded, err := chromedp.Run(b, chromedp.Evaluate[bool](`document.querySelector('img.qr').complete && document.querySelector('img.qr').naturalWidth > 0`))
	if err != nil || !loaded {
		t.Errorf("the QR code image did not load: %v", err)
	}
	browser.Screenshot(t, b, "totp-enroll")
	text, err := chromedp.Run(b, chromedp.Text(chromedp.ID("totp-secret")))
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.Join(strings.Fields(text), ""))
	if err != nil {
		t.Fatalf("secret %q on the page: %v", text, err)
	}
	code, _ := totp.CodeAt(secret, totp.Step(time.Now()))
	step("confirm enrollment",
		chromedp.SendKeys(chromedp.ID("totp-name"), "Phone"),
		chromedp.SendKeys(chromedp.ID("totp-code"), code),
		chromedp.Submit(chromedp.ID("totp-code")),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
	)
	browser.Screenshot(t, b, "first-recovery-codes")
	first := codesOnPage()

	step("back to the account page",
		chromedp.Click(chromedp.CSS(`a.button`)),
		chromedp.WaitVisible(chromedp.ID("current")),
	)
	factors, err := chromedp.Run(b, chromedp.Text(chromedp.ID("factors")))
	if err != nil || !strings.Contains(factors, "Phone") {
		t.Errorf("enrolled factor not listed: %q, %v", factors, err)
	}
	browser.Screenshot(t, b, "account-with-factor")

	step("new recovery codes",
		chromedp.Click(chromedp.CSS(`form[action="/account/recovery-codes"] button`)),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
	)
	browser.Screenshot(t, b, "new-recovery-codes")
	fresh := codesOnPage()
	if slices.ContainsFunc(fresh, func(c string) bool { return slices.Contains(first, c) }) {
		t.Errorf("new codes %q repeat old ones %q", fresh, first)
	}
	if _, err := d.UseRecoveryCode(ctx, u.ID, first[0], "192.0.2.1", "web"); !errors.Is(err, directory.ErrBadCode) {
		t.Errorf("old recovery code after regeneration: %v, want ErrBadCode", err)
	}
	if _, err := d.UseRecoveryCode(ctx, u.ID, fresh[0], "192.0.2.1", "web"); err != nil {
		t.Errorf("new recovery code refused: %v", err)
	}
	// The enrolled secret is the one the page showed.
	next, _ := totp.CodeAt(secret, totp.Step(time.Now())+1)
	if err := d.VerifyTOTP(ctx, u.ID, next, "192.0.2.1", "web"); err != nil {
		t.Errorf("code of the secret read from the page refused: %v", err)
	}
}

// TestSignInAgainBrowser: in headless Chromium, a session a quarter of an
// hour old is sent to sign in again before creating an app password, comes
// back to the page and creates it; then it signs out everywhere else.
func TestSignInAgainBrowser(t *testing.T) {
	clock := dirtest.NewClock(time.Now())
	_, srv := acctServeAt(t, clock)
	b := browser.New(t)
	signIn := []chromedp.Action[chromedp.Void]{
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "alice-password"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("current")),
	}
	createAppPassword := []chromedp.Action[chromedp.Void]{
		chromedp.SendKeys(chromedp.ID("app-name"), "NAS"),
		chromedp.Submit(chromedp.ID("app-name")),
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	step("sign in", append([]chromedp.Action[chromedp.Void]{chromedp.Navigate(srv.URL + "/")}, signIn...)...)

	clock.Advance(16 * time.Minute)
	step("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`[data-sign-in-again]`)))
	step("create an app password", append(createAppPassword, chromedp.WaitVisible(chromedp.CSS(`a.button[href="/account/sign-in-again"]`)))...)
	browser.Screenshot(t, b, "sign-in-again")
	step("sign in again", append([]chromedp.Action[chromedp.Void]{chromedp.Click(chromedp.CSS(`a.button`)), chromedp.WaitVisible(chromedp.ID("password"))}, signIn...)...)
	step("create it now", append(createAppPassword, chromedp.WaitVisible(chromedp.ID("revealed-secret")))...)
	text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil || !strings.Contains(text, "App password for NAS") {
		t.Errorf("after signing in again: %q, %v", text, err)
	}

	step("sign out everywhere else",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.Click(chromedp.CSS(`form[action="/account/sessions/end-others"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	notice, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`p.notice`)))
	if err != nil || !strings.Contains(notice, "signed out everywhere else") {
		t.Errorf("notice %q, %v", notice, err)
	}
}
