package samlidp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	// Aliased: the harness has a type named browser.
	headless "github.com/atrium-dir/atrium/internal/browser"
)

// TestBrowserMellonLogin is a person in headless Chromium: they open a page
// guarded by mod_auth_mellon, land on Atrium's login page, mistype the
// password once, sign in, and see the guarded page. Screenshots of each page
// go to test-artifacts/screenshots/TestBrowserMellonLogin.
func TestBrowserMellonLogin(t *testing.T) {
	h := newHarness(t)
	sp := mellonStart(t, h)
	ctx := headless.New(t)

	browserDo(t, ctx, "open the guarded page",
		chromedp.Navigate(sp.PageURL()),
		chromedp.WaitVisible(chromedp.ID("username")),
	)
	if at := browserLocation(t, ctx); !strings.HasPrefix(at, h.srv.URL+"/login") {
		t.Fatalf("the guarded page led to %s, want Atrium's login page", at)
	}
	headless.Screenshot(t, ctx, "login")

	browserDo(t, ctx, "sign in with a wrong password",
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "not-the-password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.error`)),
	)
	headless.Screenshot(t, ctx, "login-error")

	// The error page starts with empty fields again.
	browserDo(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "alice-password"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		// Atrium's auto-POST page sends the Response on to mellon.
		chromedp.WaitVisible(chromedp.ID("nameid")),
	)
	if at := browserLocation(t, ctx); at != sp.PageURL() {
		t.Fatalf("signed in at %s, want the guarded page %s", at, sp.PageURL())
	}
	nameID, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("nameid")))
	must(t, err)
	if nameID != "alice@example.com" {
		t.Errorf("mellon shows NameID %q, want alice@example.com", nameID)
	}
	headless.Screenshot(t, ctx, "landing")
}

// browserDo runs steps in the browser, failing the test with what it was
// doing and where the browser was.
func browserDo(t *testing.T, ctx context.Context, doing string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		at, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (the browser is at %s)", doing, err, at)
	}
}

func browserLocation(t *testing.T, ctx context.Context) string {
	t.Helper()
	at, err := chromedp.Run(ctx, chromedp.Location())
	must(t, err)
	return at
}
