package console_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/browser"
)

// TestPickerByKeyboard: in headless Chromium the admin adds alice to ops
// with the keyboard alone: typing in the picker, Tab to its first
// suggestion, Enter.
func TestPickerByKeyboard(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := tab{t, browser.New(t)}
	st.signInAdmin(admin)
	admin.do("type in the picker",
		chromedp.Navigate(st.srv.URL+"/admin/groups/ops"),
		chromedp.WaitVisible(chromedp.ID("member")),
		chromedp.Focus(chromedp.ID("member")),
		chromedp.KeyEvent("ali"),
		chromedp.WaitVisible(chromedp.CSS(`#picker-results[data-query="ali"] button[data-ref="alice"]`)),
		chromedp.KeyEvent(kb.Tab),
	)
	focused, err := chromedp.Run(admin.ctx, chromedp.Evaluate[string](`document.activeElement.dataset.ref || document.activeElement.id`))
	if err != nil || focused != "alice" {
		t.Fatalf("Tab from the picker moves to %q (%v), want the suggestion alice", focused, err)
	}
	admin.do("choose with Enter",
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`#members a[href="/admin/users/alice"]`)),
	)
	if g, err := st.d.Group(context.Background(), "ops"); err != nil || len(g.Users) != 1 {
		t.Errorf("ops in the directory: %+v, %v", g, err)
	}
}
