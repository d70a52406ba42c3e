package signin_test

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/browser"
	"github.com/atrium-dir/atrium/internal/samltest"
	"github.com/atrium-dir/atrium/internal/sitetest"
	"github.com/atrium-dir/atrium/samlidp"
	"github.com/atrium-dir/atrium/totp"
	"github.com/atrium-dir/atrium/web"
)

// TestRecoveryCodeSignInBrowser is alice, who has an authenticator app,
// signing in to a SAML app in headless Chromium with a recovery code
// instead ("Recovery code" among the other ways). Few codes are left after
// it, so she is told so before she lands at the app; the assertion says
// MFA. She signs out; the same code is refused the next time, another one
// works, and from the notice she goes to her account page to make new
// codes instead of to the app. Screenshots of each page.
func TestRecoveryCodeSignInBrowser(t *testing.T) {
	ctx := context.Background()
	d := mfaDir(t, directory.MFAPolicy{}, time.Now)
	u, _ := d.User(ctx, "alice")
	secret, err := d.BeginTOTP(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.CodeAt(secret, totp.Step(time.Now()))
	if _, err := d.ConfirmTOTP(ctx, u.ID, "Phone", code, "192.0.2.1"); err != nil {
		t.Fatal(err)
	}
	codes, err := d.NewRecoveryCodes(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Seven are spent already: three are left before this sign-in.
	for _, c := range codes[:7] {
		if _, err := d.UseRecoveryCode(ctx, u.ID, c, "192.0.2.1", "web"); err != nil {
			t.Fatal(err)
		}
	}
	base := mfaServeSAML(t, d)
	sp := samltest.Start(t, d, base, samlidp.AppSpec{Name: "wiki"})

	b := browser.New(t)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			at, _ := chromedp.Run(b, chromedp.Location())
			t.Fatalf("%s: %v (the browser is at %s)", what, err, at)
		}
	}
	signInWithCode := func(doing, code string, then chromedp.Action[chromedp.Void]) {
		t.Helper()
		step(doing,
			chromedp.Navigate(sp.StartURL()),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), "alice"),
			chromedp.SendKeys(chromedp.ID("password"), "alice-password"),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`nav.choices a[href*="kind=recovery"]`)),
			chromedp.Click(chromedp.CSS(`nav.choices a[href*="kind=recovery"]`)),
			chromedp.WaitReady(chromedp.CSS(`input[name=kind][value=recovery]`)),
			chromedp.SendKeys(chromedp.ID("code"), code),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			then,
		)
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}

	signInWithCode("sign in with a recovery code", codes[7], chromedp.WaitVisible(chromedp.CSS(`button[value=account]`)))
	browser.Screenshot(t, b, "few-codes-left")
	if notice := text("p.warning"); !strings.Contains(notice, "only 2 recovery codes left") {
		t.Errorf("the notice says %q, want that 2 codes are left", notice)
	}
	step("continue to the app",
		chromedp.Click(chromedp.CSS(`button[type=submit]:not([value])`)),
		chromedp.WaitVisible(chromedp.ID("app")),
	)
	browser.Screenshot(t, b, "landing")
	if refused := text("#error"); refused != "" {
		t.Fatalf("the app refused the response: %s", refused)
	}
	if who, amr, class := text("#nameid"), text("#amr"), text("#class"); who != "alice@example.com" || amr != "pwd,otp,mfa" || class != "https://refeds.org/profile/mfa" {
		t.Errorf("the app received NameID %q, amr %q, class %q; want alice's, pwd,otp,mfa and the MFA class", who, amr, class)
	}

	step("sign out",
		chromedp.Navigate(base+"/"),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[text()="Signed out"]`)),
	)
	signInWithCode("the same code again", codes[7], chromedp.WaitVisible(chromedp.CSS(`p.error`)))
	browser.Screenshot(t, b, "code-refused")
	if refusal := text("p.error"); !strings.Contains(refusal, "used before") {
		t.Errorf("the refusal says %q", refusal)
	}
	if left, _ := d.RecoveryCodesLeft(ctx, u.ID); left != 2 {
		t.Errorf("%d recovery codes left after the refused reuse, want 2", left)
	}

	step("another code, then go make new ones",
		chromedp.SendKeys(chromedp.ID("code"), codes[8]),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[value=account]`)),
		chromedp.Click(chromedp.CSS(`button[value=account]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/account/recovery-codes"] button`)),
	)
	browser.Screenshot(t, b, "account-after-notice")
	if at, _ := chromedp.Run(b, chromedp.Location()); !strings.HasPrefix(at, base+"/") || strings.Contains(at, "/login") {
		t.Errorf("after the notice the browser is at %s, want the account page", at)
	}
	if warning := text("#recovery .warning"); !strings.Contains(warning, "Few recovery codes are left") {
		t.Errorf("the account page's recovery section warns %q", warning)
	}
}

// mfaServeSAML serves the sign-in and self-service pages and the SAML IdP over d on loopback, as
// cmd/atrium does, and returns the external URL.
func mfaServeSAML(t *testing.T, d *directory.Directory) string {
	t.Helper()
	if err := samlidp.EnsureKey(context.Background(), d); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	ext, _ := url.Parse("http://" + srv.Listener.Addr().String())
	mux, e := sitetest.New(d, ext, time.Now)
	mux.Handle("/saml/", web.Protect(samlidp.New(d, e, samlidp.Options{}).Handler(), nil))
	srv.Config.Handler = mux
	srv.Start()
	return ext.String()
}
