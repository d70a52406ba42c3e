// Package browser runs a real headless Chromium for tests that drive
// Atrium's pages the way a person does. It is test support only: New starts a
// fresh browser for one test and stops it when the test ends, and Screenshot
// saves what the page looks like on a desktop and on a phone under
// test-artifacts/screenshots at the repository root, for a reviewer to open.
//
// A test drives the page with chromedp on the returned context:
//
//	ctx := browser.New(t)
//	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
//		t.Fatal(err)
//	}
//	browser.Screenshot(t, ctx, "login")
package browser
