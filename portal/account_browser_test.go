package portal_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/internal/browser"
)

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
