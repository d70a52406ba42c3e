package passkey

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/browser"
	"github.com/atrium-dir/atrium/push"
)

// TestPushApprovalConfirmedWithPasskeyInChromium approves a sign-in on the
// push approval page with this package's Confirmer and Chromium's virtual
// authenticator as the phone's passkey: the laptop signs in with the
// password and waits for the push; the phone picks the number and confirms
// with a user-verified assertion. An authenticator that cannot verify its
// user does not approve; the right number with a verified user does; a
// wrong number refuses the sign-in. Screenshots of the approval page.
func TestPushApprovalConfirmedWithPasskeyInChromium(t *testing.T) {
	var pushes atomic.Int32
	pushService := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pushes.Add(1)
		w.WriteHeader(http.StatusCreated)
	}))
	t.Cleanup(pushService.Close)
	var approvals *push.Approvals
	s := newPKServer(t, func(s *pkServer, mux *http.ServeMux) {
		vapid, err := push.EnsureVAPID(s.ctx, s.dir)
		if err != nil {
			t.Fatal(err)
		}
		notifier := &push.WebPush{Keys: vapid, Subscriber: push.Subscriber(s.origin), Client: pushService.Client()}
		approvals = push.NewApprovals(s.dir, notifier, s.keys, nil)
		s.signin.AddSecondFactor(push.NewSecondFactor(approvals))
		push.NewHandler(approvals, s.signin, vapid, push.Options{Now: s.clock.Now}).Mount(mux)
	})
	alice := s.userWithPassword(t, "alice")

	// The phone: signed in, with its passkey and its push subscription.
	phone := browser.New(t)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(phone, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitStatus := func(what, text string) {
		t.Helper()
		if _, err := chromedp.Run(phone, chromedp.Poll[bool](`document.getElementById("status").textContent.includes(`+strconv.Quote(text)+`)`, chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			status, _ := chromedp.Run(phone, chromedp.Text(chromedp.ID("status")))
			t.Fatalf("%s: %v; status %q", what, err, status)
		}
	}
	authenticator := pkVirtualAuthenticator(t, phone)
	step("phone signs in and adds its passkey",
		chromedp.Navigate(s.origin+"/"),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Phone"),
		chromedp.Click(chromedp.CSS(`form[data-passkey-register] button`)),
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
	)
	if _, err := s.dir.AddFactor(s.ctx, alice.ID, directory.Factor{Kind: directory.FactorPush, Name: "Phone"}, pkSubscription(t, pushService.URL)); err != nil {
		t.Fatal(err)
	}

	// The laptop signs in with the password and asks for a push.
	laptopSignIn := func() (*pkBrowser, string, string, int) {
		t.Helper()
		laptop := s.browser(t)
		_, page := laptop.password("alice")
		_, page = laptop.get("/login?flow=" + url.QueryEscape(field(t, page, "flow")) + "&kind=push")
		m := regexp.MustCompile(`<p class="bignumber">(\d+)</p>`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no number on the waiting page:\n%s", page)
		}
		number, _ := strconv.Atoi(m[1])
		return laptop, page, field(t, page, "data-tx"), number
	}
	laptop, waiting, tx, number := laptopSignIn()
	if pushes.Load() != 1 {
		t.Fatalf("%d pushes sent, want 1", pushes.Load())
	}
	continueSignIn := func(laptop *pkBrowser, page string) (int, string) {
		t.Helper()
		return laptop.postForm("/login", url.Values{"flow": {field(t, page, "flow")}, "csrf": {field(t, page, "csrf")}, "step": {"mfa"}, "kind": {"push"}})
	}

	pick := func(n int) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(`button.number[data-number="` + strconv.Itoa(n) + `"]:not([disabled])`))
	}
	step("open the request", chromedp.Navigate(s.origin+"/approve/"+tx), chromedp.WaitVisible(chromedp.CSS(`button.number:not([disabled])`)))
	browser.Screenshot(t, phone, "approve")

	// The confirmation requires user verification: an authenticator that
	// cannot verify its user is refused by the browser itself, and the
	// request stays open.
	if _, err := chromedp.Call(phone, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: authenticator, IsUserVerified: false}); err != nil {
		t.Fatal(err)
	}
	step("pick the number, unverified", pick(number))
	waitStatus("refused without user verification", "not confirmed")
	if got := approvals.Status(s.ctx, tx); got != push.Pending {
		t.Fatalf("transaction %s after an unverified passkey, want pending", got)
	}
	if status, page := continueSignIn(laptop, waiting); status != http.StatusConflict {
		t.Fatalf("laptop before approval: %d\n%s", status, page)
	}

	// Verified, the same number approves, and the laptop is signed in.
	if _, err := chromedp.Call(phone, webauthn.SetUserVerified, webauthn.SetUserVerifiedParams{AuthenticatorID: authenticator, IsUserVerified: true}); err != nil {
		t.Fatal(err)
	}
	step("pick the number, verified", pick(number))
	waitStatus("approved", "Approved")
	browser.Screenshot(t, phone, "approved")
	if status, page := continueSignIn(laptop, waiting); status != http.StatusOK || !strings.Contains(page, "Your account") {
		t.Fatalf("laptop after approval: %d\n%s", status, page)
	}
	if sess, ok := laptop.session(); !ok || !slices.Contains(sess.Methods, "pwd") || len(sess.Methods) < 2 {
		t.Fatalf("laptop session %+v (ok %v), want the password and the push", sess, ok)
	}
	events, _ := s.dir.AuditEvents(s.ctx, directory.AuditQuery{Subject: "alice", Kind: "mfa"})
	if !slices.ContainsFunc(events, func(e directory.AuditEvent) bool {
		return e.Service == "push" && e.Result == directory.ResultOK && e.Detail == "passkey:Phone"
	}) {
		t.Errorf("no audit of the passkey confirming the push in %+v", events)
	}

	// A wrong number refuses the next sign-in.
	laptop, waiting, tx, number = laptopSignIn()
	step("open the next request", chromedp.Navigate(s.origin+"/approve/"+tx), chromedp.WaitVisible(chromedp.CSS(`button.number:not([disabled])`)))
	choices, err := chromedp.Run(phone, chromedp.Evaluate[[]string](`[...document.querySelectorAll("button.number")].map(b => b.dataset.number)`))
	if err != nil {
		t.Fatal(err)
	}
	wrong := slices.IndexFunc(choices, func(c string) bool { return c != strconv.Itoa(number) })
	wrongNumber, _ := strconv.Atoi(choices[wrong])
	step("pick a wrong number", pick(wrongNumber))
	waitStatus("refused", "refused")
	if status, _ := continueSignIn(laptop, waiting); status != http.StatusUnauthorized {
		t.Fatalf("laptop after a wrong number: %d", status)
	}
	if _, ok := laptop.session(); ok {
		t.Fatal("a wrong number signed the laptop in")
	}
}

// pkSubscription is a PushSubscription at the test push service, with keys
// a browser would make.
func pkSubscription(t *testing.T, endpoint string) []byte {
	t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	raw, err := json.Marshal(map[string]any{
		"endpoint": endpoint + "/push/alice-phone",
		"keys":     map[string]string{"p256dh": b64(key.PublicKey().Bytes()), "auth": b64(auth)},
	})
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
