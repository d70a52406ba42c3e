package otp_test

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
	"github.com/atrium-dir/atrium/internal/browser"
	"github.com/atrium-dir/atrium/totp"
)

// TestSelfServiceBrowser signs in through the real login page in headless
// Chromium, adds an authenticator app from its section of the self-service
// page with the secret read from the page, and makes new recovery codes
// from theirs, with screenshots of each page at desktop and phone widths.
func TestSelfServiceBrowser(t *testing.T) {
	ctx := context.Background()
	d, srv := ssServe(t, time.Now)
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
		chromedp.WaitVisible(chromedp.ID("authenticator")),
	)
	browser.Screenshot(t, b, "account")

	step("start enrollment",
		chromedp.Click(chromedp.CSS(`#authenticator form[action="/account/totp"] button`)),
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
		chromedp.WaitVisible(chromedp.ID("recovery")),
	)
	factors, err := chromedp.Run(b, chromedp.Text(chromedp.ID("factors")))
	if err != nil || !strings.Contains(factors, "Phone") {
		t.Errorf("enrolled factor not listed: %q, %v", factors, err)
	}
	browser.Screenshot(t, b, "account-with-factor")

	step("new recovery codes",
		chromedp.Click(chromedp.CSS(`#recovery form[action="/account/recovery-codes"] button`)),
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
