package console_test

import (
	"context"
	"encoding/base32"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/console"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/browser"
	"github.com/atrium-dir/atrium/totp"
)

type tab struct {
	t   *testing.T
	ctx context.Context
}

func (b tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		at, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("%s: %v (the browser is at %s)", what, err, at)
	}
}

func (b tab) text(sel string) string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return v
}

func (b tab) shot(name string) { b.t.Helper(); browser.Screenshot(b.t, b.ctx, name) }

// signInAdmin opens the console and signs the admin in with their
// password and a code from their authenticator app.
func (st *site) signInAdmin(b tab) {
	b.t.Helper()
	code, _ := totp.CodeAt(st.secrets["admin"], totp.Step(st.clock.Now()))
	b.do("sign in to the console",
		chromedp.Navigate(st.srv.URL+"/admin/"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), "admin-password"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.ID("counts")),
	)
}

// TestInviteBrowser: in headless Chromium an admin signs in with a second
// factor and creates carol, with an invite link. Carol opens the link in
// another browser context, sets her password, enrolls an authenticator app
// (the policy requires one) and reaches the self-service page. The link
// then no longer works. Screenshots of each page at desktop and phone
// widths.
func TestInviteBrowser(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{All: true}, true)
	admin := tab{t, browser.New(t)}
	st.signInAdmin(admin)
	admin.shot("overview")
	admin.do("the users", chromedp.Navigate(st.srv.URL+"/admin/users"), chromedp.WaitVisible(chromedp.ID("q")))
	admin.shot("users")
	admin.do("open the create form",
		chromedp.Click(chromedp.CSS(`a[href="/admin/users/new"]`)),
		chromedp.WaitVisible(chromedp.ID("uid")),
		chromedp.SendKeys(chromedp.ID("uid"), "carol"),
		chromedp.SendKeys(chromedp.ID("mail"), "carol@example.com"),
		chromedp.SendKeys(chromedp.ID("given"), "Carol"),
		chromedp.SendKeys(chromedp.ID("sn"), "Jones"),
	)
	admin.shot("user-new")
	admin.do("create carol", chromedp.Submit(chromedp.ID("uid")), chromedp.WaitVisible(chromedp.ID("invite-link")))
	admin.shot("invite-link")
	link := strings.TrimSpace(admin.text("#invite-link"))
	if !strings.HasPrefix(link, st.srv.URL+"/invite/") {
		t.Fatalf("the invite link is %q", link)
	}

	ctx, cancel := chromedp.NewContext(admin.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	carol := tab{t, ctx}
	carol.do("open the invite", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("new")))
	carol.shot("invite")
	// The password policy refuses a password holding carol's own name.
	carol.do("choose a password with her name",
		chromedp.SendKeys(chromedp.ID("new"), "carol-chosen-pw"),
		chromedp.SendKeys(chromedp.ID("confirm"), "carol-chosen-pw"),
		chromedp.Submit(chromedp.ID("new")),
		chromedp.WaitVisible(chromedp.CSS("p.error")),
	)
	if msg := carol.text("p.error"); !strings.Contains(msg, "own name") {
		t.Errorf("the invite page refuses carol's name with %q", msg)
	}
	carol.do("set a password",
		chromedp.SetValue(chromedp.ID("new"), "down the rabbit hole"),
		chromedp.SetValue(chromedp.ID("confirm"), "down the rabbit hole"),
		chromedp.Submit(chromedp.ID("new")),
		chromedp.WaitVisible(chromedp.CSS("img.qr")),
	)
	carol.shot("enroll-totp")
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.Join(strings.Fields(carol.text("code.secret")), ""))
	if err != nil {
		t.Fatal(err)
	}
	code, _ := totp.CodeAt(secret, totp.Step(st.clock.Now()))
	carol.do("enroll the app",
		chromedp.SendKeys(chromedp.ID("code"), code),
		chromedp.Submit(chromedp.ID("code")),
		chromedp.WaitVisible(chromedp.CSS("ul.codes")),
	)
	carol.shot("recovery-codes")
	carol.do("continue to the self-service page",
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("current")),
	)
	carol.shot("self-service")
	if who := carol.text("header.top p"); !strings.Contains(who, "carol") {
		t.Errorf("the self-service page is of %q, want carol", who)
	}
	if strings.Contains(carol.text("header.top nav"), "Admin console") {
		t.Error("carol, no admin, is shown the console link")
	}
	carol.do("open the link again", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("h1")))
	carol.shot("invite-used")
	if h := carol.text("h1"); h != "Invite link not valid" {
		t.Errorf("the used link shows %q", h)
	}

	admin.do("carol's page", chromedp.Navigate(st.srv.URL+"/admin/users/carol"), chromedp.WaitVisible(chromedp.ID("factors")))
	admin.shot("user")
	if f := admin.text("#factors"); !strings.Contains(f, "totp") {
		t.Errorf("carol's page lists factors %q, want her authenticator app", f)
	}
	admin.do("the delete confirmation", chromedp.Navigate(st.srv.URL+"/admin/users/carol/delete"), chromedp.WaitVisible(chromedp.ID("confirm")))
	admin.shot("user-delete")
	admin.do("the audit log", chromedp.Navigate(st.srv.URL+"/admin/audit"), chromedp.WaitVisible(chromedp.ID("events")))
	admin.shot("audit")
}

// TestGroupPickerBrowser: the admin creates a group, adds alice through
// the search-as-you-type picker, nests ops (which holds the admin) the
// same way, and sees both as effective members.
func TestGroupPickerBrowser(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	if _, err := st.d.ChangeMembers(context.Background(), "ops", []directory.MemberRef{{Name: "admin"}}, nil); err != nil {
		t.Fatal(err)
	}
	admin := tab{t, browser.New(t)}
	st.signInAdmin(admin)
	admin.do("the groups", chromedp.Navigate(st.srv.URL+"/admin/groups"), chromedp.WaitVisible(chromedp.ID("groups")))
	admin.shot("groups")
	admin.do("create dev",
		chromedp.Click(chromedp.CSS(`a[href="/admin/groups/new"]`)),
		chromedp.WaitVisible(chromedp.ID("cn")),
		chromedp.SendKeys(chromedp.ID("cn"), "dev"),
		chromedp.SendKeys(chromedp.ID("description"), "Developers"),
		chromedp.Submit(chromedp.ID("cn")),
		chromedp.WaitVisible(chromedp.ID("member")),
	)
	admin.do("pick alice",
		chromedp.SendKeys(chromedp.ID("member"), "ali"),
		chromedp.WaitVisible(chromedp.CSS(`#picker-results[data-query="ali"] button[data-ref="alice"]`)),
	)
	admin.shot("picker")
	answered := console.LiveAnswered(st.console)
	if answered == 0 {
		t.Error("the picker did not search over the live socket")
	}
	admin.do("add alice",
		chromedp.Click(chromedp.CSS(`#picker-results button[data-ref="alice"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#members a[href="/admin/users/alice"]`)),
	)
	admin.do("nest ops",
		chromedp.SendKeys(chromedp.ID("member"), "op"),
		chromedp.WaitVisible(chromedp.CSS(`#picker-results[data-query="op"] button[data-ref="group:ops"]`)),
		chromedp.Click(chromedp.CSS(`#picker-results[data-query="op"] button[data-ref="group:ops"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#members a[href="/admin/groups/ops"]`)),
	)
	admin.shot("group")
	if eff := admin.text("#effective"); !strings.Contains(eff, "alice") || !strings.Contains(eff, "admin") {
		t.Errorf("dev's effective members: %q, want alice and admin (through ops)", eff)
	}
	g, err := st.d.Group(context.Background(), "dev")
	if err != nil || len(g.Users) != 1 || len(g.Groups) != 1 {
		t.Errorf("dev in the directory: %+v, %v", g, err)
	}
	st.typeUserSearch(admin, "ali", "admin", "alice")
	admin.shot("users-search")
	if console.LiveAnswered(st.console) <= answered {
		t.Error("the users page did not search over the live socket")
	}
	// Without the socket (refused here as at shutdown) the page searches
	// over the JSON page.
	st.console.CloseLive()
	answered = console.LiveAnswered(st.console)
	st.typeUserSearch(admin, "adm", "alice", "admin")
	if console.LiveAnswered(st.console) != answered {
		t.Error("a search went over a socket after CloseLive")
	}
}

// typeUserSearch types q on the users page and waits until the rows show
// the user shown and no longer the user gone.
func (st *site) typeUserSearch(b tab, q, gone, shown string) {
	b.t.Helper()
	b.do("search users as you type: "+q,
		chromedp.Navigate(st.srv.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), q),
		chromedp.WaitNotPresent(chromedp.CSS(`#users a[href="/admin/users/`+gone+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#users a[href="/admin/users/`+shown+`"]`)),
	)
}

// TestMarkupNamesBrowser: in headless Chromium a user named
// <script>alert(1)</script> shows as that text on the console's pages,
// in the rows the search script draws and in the picker's suggestions,
// and no script of the name ever runs (no dialog opens).
func TestMarkupNamesBrowser(t *testing.T) {
	const evil = "<script>alert(1)</script>"
	st := newSite(t, directory.MFAPolicy{}, true)
	ctx := context.Background()
	if _, err := st.d.CreateUser(ctx, directory.User{UID: "mallory", Mail: "mallory@example.com", DisplayName: evil}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.d.ChangeMembers(ctx, "ops", []directory.MemberRef{{Name: "mallory"}}, nil); err != nil {
		t.Fatal(err)
	}
	admin := tab{t, browser.New(t)}
	var dialogs atomic.Int32
	err := chromedp.Listen(admin.ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	st.signInAdmin(admin)
	admin.do("search as you type",
		chromedp.Navigate(st.srv.URL+"/admin/users"),
		chromedp.WaitVisible(chromedp.ID("q")),
		chromedp.SendKeys(chromedp.ID("q"), "mal"),
		chromedp.WaitNotPresent(chromedp.CSS(`#users a[href="/admin/users/admin"]`)),
	)
	admin.shot("users-search")
	if name := admin.text("#users tbody tr td:nth-child(2)"); name != evil {
		t.Errorf("the search row shows %q, want the name as text", name)
	}
	admin.do("mallory's page", chromedp.Navigate(st.srv.URL+"/admin/users/mallory"), chromedp.WaitVisible(chromedp.ID("details")))
	admin.shot("user")
	if h := admin.text("h1"); h != evil {
		t.Errorf("the user page's heading is %q", h)
	}
	admin.do("the picker",
		chromedp.Navigate(st.srv.URL+"/admin/groups/ops"),
		chromedp.WaitVisible(chromedp.ID("member")),
		chromedp.SendKeys(chromedp.ID("member"), "mal"),
		chromedp.WaitVisible(chromedp.CSS(`#picker-results button[data-ref="mallory"]`)),
	)
	admin.shot("group-picker")
	if s := admin.text(`#picker-results button[data-ref="mallory"]`); s != evil+" (mallory)" {
		t.Errorf("the picker suggests %q", s)
	}
	if m := admin.text("#members"); !strings.Contains(m, evil) {
		t.Errorf("the members list shows %q", m)
	}
	st.markupOnEveryPage(admin, evil)
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d dialogs opened: the name ran as a script", n)
	}
}

// markupOnEveryPage opens the other pages that show mallory's name (the
// overview's failed sign-ins, the sessions, the audit log, her delete
// confirmation, the users list) with mallory signed in and the name typed
// at a failed sign-in, and checks each shows it as text and holds no
// script element but the console's own.
func (st *site) markupOnEveryPage(admin tab, evil string) {
	t := admin.t
	t.Helper()
	if err := st.d.SetPassword(context.Background(), "mallory", "mallory-password"); err != nil {
		t.Fatal(err)
	}
	st.client().signIn("/", "mallory")
	st.client().signIn("/", evil)
	for _, path := range []string{"/admin/", "/admin/sessions", "/admin/audit?service=web", "/admin/users/mallory/delete", "/admin/users"} {
		admin.do("open "+path, chromedp.Navigate(st.srv.URL+path), chromedp.WaitReady(chromedp.CSS("main")))
		if !strings.Contains(admin.text("main"), evil) {
			t.Errorf("%s does not show the name as text", path)
		}
		if n, err := chromedp.Run(admin.ctx, chromedp.Evaluate[int](`document.querySelectorAll('script:not([src="/admin/assets/console.js"])').length`)); err != nil || n != 0 {
			t.Errorf("%s holds %d script elements besides the console's (%v)", path, n, err)
		}
	}
}

// TestConsolePagesBrowser walks the console's other pages in headless
// Chromium, with screenshots at desktop and phone widths: a bind account
// created with its password shown once, the sessions, a group's delete
// confirmation, the audit log filtered, and a refused form.
func TestConsolePagesBrowser(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := tab{t, browser.New(t)}
	st.signInAdmin(admin)
	admin.do("create a bind account",
		chromedp.Navigate(st.srv.URL+"/admin/bind-accounts"),
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "nas"),
		chromedp.Submit(chromedp.ID("name")),
		chromedp.WaitVisible(chromedp.ID("bind-password")),
	)
	admin.shot("bind-accounts")
	if pw := admin.text("#bind-password"); len(pw) < 20 {
		t.Errorf("the bind account's password is %q", pw)
	}
	admin.do("sessions", chromedp.Navigate(st.srv.URL+"/admin/sessions"), chromedp.WaitVisible(chromedp.ID("sessions")))
	admin.shot("sessions")
	admin.do("delete a group", chromedp.Navigate(st.srv.URL+"/admin/groups/ops/delete"), chromedp.WaitVisible(chromedp.ID("confirm")))
	admin.shot("group-delete")
	admin.do("a refused user",
		chromedp.Navigate(st.srv.URL+"/admin/users/new"),
		chromedp.WaitVisible(chromedp.ID("uid")),
		chromedp.SendKeys(chromedp.ID("uid"), "alice"),
		chromedp.SendKeys(chromedp.ID("mail"), "other@example.com"),
		chromedp.Submit(chromedp.ID("uid")),
		chromedp.WaitVisible(chromedp.CSS("p.error")),
	)
	admin.shot("user-refused")
	admin.do("the audit log for nas",
		chromedp.Navigate(st.srv.URL+"/admin/audit"),
		chromedp.WaitVisible(chromedp.ID("user")),
		chromedp.SendKeys(chromedp.ID("user"), "nas"),
		chromedp.Submit(chromedp.ID("user")),
		// The filtered page, not the one the form was on.
		chromedp.WaitVisible(chromedp.CSS(`input#user[value="nas"]`)),
	)
	admin.shot("audit-filtered")
	if rows := admin.text("#events tbody"); !strings.Contains(rows, "bind-account add") || !strings.Contains(rows, "admin") || strings.Contains(rows, "alice") {
		t.Errorf("the audit log filtered to nas shows %q", rows)
	}
}
