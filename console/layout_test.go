package console_test

import (
	"cmp"
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/browser"
)

// unlabelled lists the form fields a page shows without a label (a
// <label for>, an enclosing label or an aria-label), by id or name.
const unlabelled = `[...document.querySelectorAll("input, select, textarea")]
	.filter(e => e.type !== "hidden" && e.type !== "submit" && e.labels.length === 0 && !e.getAttribute("aria-label"))
	.map(e => e.id || e.name)`

// sideScroll is how far a page is wider than the window: the page
// scrolls sideways when it is above zero.
const sideScroll = `document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth`

// phoneWidth is a 375-pixel phone, the narrowest in common use.
var phoneWidth = chromedp.EmulateViewport(375, 812, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2))

// TestPhoneWidthAndLabels: in headless Chromium at a 375-pixel phone
// width every console page fits the window (no sideways scrolling of the
// page; wide tables scroll in their own box), long values included, and
// every form field on every page has a label. Each page is also saved as
// screenshots at desktop and phone widths.
func TestPhoneWidthAndLabels(t *testing.T) {
	st := newLDAPSite(t, nil)
	st.addApp("wiki")
	ctx := context.Background()
	long := strings.Repeat("verylongname", 8)
	if _, err := st.d.CreateUser(ctx, directory.User{UID: "longname", Mail: long + "@example.com", DisplayName: long}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.d.ChangeMembers(ctx, "ops", []directory.MemberRef{{Name: "alice"}, {Name: "longname"}}, nil); err != nil {
		t.Fatal(err)
	}
	admin := tab{t, browser.New(t)}
	st.signInAdmin(admin)
	var pages []string
	for _, route := range routes {
		method, path, _ := strings.Cut(route, " ")
		if isPage(method, path) {
			pages = append(pages, path)
		}
	}
	pages = append(pages, "/admin/users/longname", "/admin/groups/ops", "/admin/users?q=verylong")
	for _, path := range pages {
		admin.do("open "+path, phoneWidth, chromedp.Navigate(st.srv.URL+path), chromedp.WaitReady(chromedp.CSS("main")))
		admin.checkLayout(path)
		admin.shot(cmp.Or(strings.TrimPrefix(path, "/admin/"), "overview"))
	}
	admin.do("a device Test", phoneWidth,
		chromedp.Navigate(st.srv.URL+"/admin/devices/sssd"),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SetValue(chromedp.ID("user"), "alice"),
		chromedp.Submit(chromedp.ID("user")),
		chromedp.WaitVisible(chromedp.ID("test-result")),
	)
	admin.checkLayout("the sssd Test's result")
}

// checkLayout fails the test if the page scrolls sideways or has a form
// field without a label.
func (b tab) checkLayout(what string) {
	b.t.Helper()
	over, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](sideScroll))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if over > 0 {
		b.t.Errorf("%s is %d pixels wider than a 375-pixel phone", what, over)
	}
	bare, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](unlabelled))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if len(bare) > 0 {
		b.t.Errorf("%s: fields without a label: %q", what, bare)
	}
}
