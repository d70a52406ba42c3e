package oidc_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/directory"
	headless "github.com/atrium-dir/atrium/internal/browser"
	"github.com/atrium-dir/atrium/internal/testenv"
	"github.com/atrium-dir/atrium/totp"
)

// TestBrowserTOTPLogin is a person in headless Chromium opening a page
// guarded by mod_auth_openidc for an OIDC app that requires MFA. The first
// time they sign in with their password and enroll an authenticator (the
// code typed from oathtool, as from a phone); the next time they sign in
// with password and TOTP code. Both token issues say MFA in the audit log.
// Screenshots go to test-artifacts/screenshots/TestBrowserTOTPLogin.
func TestBrowserTOTPLogin(t *testing.T) {
	oathtool := testenv.Tool(t, "oathtool", "oathtool")
	h := newHarness(t)
	rp := openidcStart(t, h)
	_, err := h.dir.UpdateApp(context.Background(), rp.app, func(a *directory.App) error {
		a.RequireMFA = true
		return nil
	})
	must(t, err)
	ctx := headless.New(t)
	code := func(secret string) string {
		t.Helper()
		out, err := exec.Command(oathtool, "--totp", "-b", "--now", h.clock.Now().UTC().Format("2006-01-02 15:04:05 UTC"), secret).Output()
		must(t, err)
		return strings.TrimSpace(string(out))
	}
	signIn := func(doing string) {
		t.Helper()
		browserDo(t, ctx, doing,
			chromedp.Navigate(rp.PageURL()),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), "alice"),
			chromedp.SendKeys(chromedp.ID("password"), "alice-password"),
			chromedp.Click(chromedp.CSS(`button[type=submit]`)),
			chromedp.WaitVisible(chromedp.ID("code")),
		)
	}

	signIn("sign in with the password")
	headless.Screenshot(t, ctx, "enroll")
	shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("code.secret")))
	must(t, err)
	secret := strings.ReplaceAll(shown, " ", "")
	browserDo(t, ctx, "confirm the authenticator app",
		chromedp.SendKeys(chromedp.ID("code"), code(secret)),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.codes`)),
	)
	headless.Screenshot(t, ctx, "recovery-codes")
	browserDo(t, ctx, "continue to the app",
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("user")),
	)
	headless.Screenshot(t, ctx, "landing-after-enrollment")

	// Cookies gone (Atrium's and the app's), half a minute later.
	h.clock.Advance(totp.Period)
	_, err = chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{})
	must(t, err)
	signIn("sign in again with the password")
	headless.Screenshot(t, ctx, "totp")
	browserDo(t, ctx, "type the TOTP code",
		chromedp.SendKeys(chromedp.ID("code"), code(secret)),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("user")),
	)
	headless.Screenshot(t, ctx, "landing")
	user, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("user")))
	must(t, err)
	if user != "alice" {
		t.Errorf("the app shows user %q, want alice", user)
	}

	events, err := h.dir.AuditEvents(context.Background(), directory.AuditQuery{Subject: "alice", Kind: "token"})
	must(t, err)
	if len(events) != 2 {
		t.Fatalf("%d token issues, want 2: %+v", len(events), events)
	}
	for _, e := range events {
		if e.Result != directory.ResultOK || !strings.HasSuffix(e.Detail, "amr=pwd,otp,mfa") {
			t.Errorf("token issue %+v does not say MFA", e)
		}
	}
}

// browserDo runs steps, failing the test with what it was doing and where
// the browser was.
func browserDo(t *testing.T, ctx context.Context, doing string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		at, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (the browser is at %s)", doing, err, at)
	}
}
