package console_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/browser"
)

// TestWithoutJavaScript: in headless Chromium with scripts turned off the
// admin signs in, searches the users with the form, creates a group and
// adds a user and a nested group through the member form; the picker
// suggests nothing (no script runs), and everything still works.
func TestWithoutJavaScript(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := tab{t, browser.New(t)}
	if _, err := chromedp.Call(admin.ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	st.signInAdmin(admin)
	admin.do("search the users",
		chromedp.Navigate(st.srv.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "ali"),
		chromedp.Submit(chromedp.ID("q")),
		chromedp.WaitVisible(chromedp.CSS(`input#q[value="ali"]`)),
	)
	if rows := admin.text("#users tbody"); !strings.Contains(rows, "alice") || strings.Contains(rows, "Ada Admin") {
		t.Errorf("the search for ali shows %q", rows)
	}
	admin.do("create a group",
		chromedp.Navigate(st.srv.URL+"/admin/groups/new"),
		chromedp.WaitVisible(chromedp.ID("cn")),
		chromedp.SendKeys(chromedp.ID("cn"), "dev"),
		chromedp.Submit(chromedp.ID("cn")),
		chromedp.WaitVisible(chromedp.ID("member")),
		chromedp.SendKeys(chromedp.ID("member"), "alice"),
		chromedp.Sleep(500*time.Millisecond),
	)
	if n, err := chromedp.Run(admin.ctx, chromedp.Evaluate[int](`document.querySelectorAll("#picker-results li").length`)); err != nil || n != 0 {
		t.Errorf("the picker suggests %d entries with scripts off (%v)", n, err)
	}
	admin.do("add alice",
		chromedp.Submit(chromedp.ID("member")),
		chromedp.WaitVisible(chromedp.CSS(`#members a[href="/admin/users/alice"]`)),
		chromedp.SendKeys(chromedp.ID("member"), "group:ops"),
		chromedp.Submit(chromedp.ID("member")),
		chromedp.WaitVisible(chromedp.CSS(`#members a[href="/admin/groups/ops"]`)),
	)
	admin.shot("group-without-scripts")
	g, err := st.d.Group(context.Background(), "dev")
	if err != nil || len(g.Users) != 1 || len(g.Groups) != 1 {
		t.Errorf("dev in the directory: %+v, %v", g, err)
	}
}
