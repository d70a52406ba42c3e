package samlidp_test

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
// guarded by mod_auth_mellon for an app that requires MFA. The first time
// they sign in with their password and are taken through TOTP enrollment
// (the code typed from oathtool, as from a phone) and shown their recovery
// codes; the next time they sign in with password and TOTP code. Both
// assertions say MFA. Screenshots go to
// test-artifacts/screenshots/TestBrowserTOTPLogin.
func TestBrowserTOTPLogin(t *testing.T) {
	oathtool := testenv.Tool(t, "oathtool", "oathtool")
	h := newHarness(t)
	sp := mellonStart(t, h)
	_, err := h.dir.UpdateApp(context.Background(), "mellon", func(a *directory.App) error {
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
		mfaBrowserDo(t, ctx, doing,
			chromedp.Navigate(sp.PageURL()),
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
	mfaBrowserDo(t, ctx, "type a wrong code",
		chromedp.SendKeys(chromedp.ID("code"), "000000"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error`)),
	)
	mfaBrowserDo(t, ctx, "confirm the authenticator app",
		chromedp.SendKeys(chromedp.ID("code"), code(secret)),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.codes`)),
	)
	headless.Screenshot(t, ctx, "recovery-codes")
	mfaBrowserDo(t, ctx, "continue to the app",
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("nameid")),
	)
	headless.Screenshot(t, ctx, "landing-after-enrollment")

	// Signed out everywhere (cookies gone), half a minute later.
	h.clock.Advance(totp.Period)
	_, err = chromedp.Call(ctx, network.ClearBrowserCookies, cdp.Empty{})
	must(t, err)
	signIn("sign in again with the password")
	headless.Screenshot(t, ctx, "totp")
	mfaBrowserDo(t, ctx, "type the TOTP code",
		chromedp.SendKeys(chromedp.ID("code"), code(secret)),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("nameid")),
	)
	nameID, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("nameid")))
	must(t, err)
	if nameID != "alice@example.com" {
		t.Errorf("mellon shows NameID %q, want alice@example.com", nameID)
	}

	events, err := h.dir.AuditEvents(context.Background(), directory.AuditQuery{Subject: "alice", Kind: "assertion"})
	must(t, err)
	if len(events) != 2 {
		t.Fatalf("%d assertions, want 2: %+v", len(events), events)
	}
	for _, e := range events {
		if e.Result != directory.ResultOK || !strings.HasSuffix(e.Detail, "amr=pwd,otp,mfa") {
			t.Errorf("assertion %+v does not say MFA", e)
		}
	}
}

// mfaBrowserDo runs steps, failing the test with what it was doing and
// where the browser was.
func mfaBrowserDo(t *testing.T, ctx context.Context, doing string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		at, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (the browser is at %s)", doing, err, at)
	}
}
