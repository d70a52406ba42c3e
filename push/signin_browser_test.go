package push_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/atrium-dir/atrium/directory"
	chromium "github.com/atrium-dir/atrium/internal/browser"
	"github.com/atrium-dir/atrium/push"
)

// TestPushSignInChromium runs the whole design in two headless Chromiums
// against the real pages, with real passkeys: alice sets up her phone
// (a passkey in a virtual authenticator, then push), and signs in on her
// laptop three times while the phone answers on the approval page: the
// right number confirmed with the passkey signs her in, a wrong number
// refuses, and so does Deny. The laptop's login page learns each answer by
// itself.
func TestPushSignInChromium(t *testing.T) {
	f := newWebFixtureWith(t, true)
	phone, laptop := chromium.New(t), chromium.New(t)
	do := func(b context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	signIn := func(b context.Context, who string) {
		t.Helper()
		do(b, who+" signs in with the password",
			chromedp.Navigate(f.origin+"/"),
			chromedp.WaitVisible(chromedp.ID("username")),
			chromedp.SendKeys(chromedp.ID("username"), "alice"),
			chromedp.SendKeys(chromedp.ID("password"), "alice-password"),
			chromedp.Submit(chromedp.ID("password")),
		)
	}

	// The phone: a platform authenticator with user verification.
	if _, err := chromedp.Call(phone, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(phone, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol: webauthn.AuthenticatorProtocolCtap2, Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportInternal,
		HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
	}}); err != nil {
		t.Fatal(err)
	}
	signIn(phone, "the phone")
	do(phone, "the account page", chromedp.WaitVisible(chromedp.ID("passkey-name")))
	do(phone, "create the phone's passkey",
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Phone"),
		chromedp.Click(chromedp.CSS(`form[data-passkey-register] button`)),
		// The first factor brings the recovery codes, shown once.
		chromedp.WaitVisible(chromedp.ID("recovery-codes")),
	)
	do(phone, "the phone setup page",
		chromedp.Navigate(f.origin+"/push/phone"),
		chromedp.WaitVisible(chromedp.ID("enroll")),
	)
	// Headless Chromium cannot subscribe to a real push service: enroll a
	// subscription of the test push service through the page's endpoint.
	sub := f.svc.add(newPushDevice(t, "phone"))
	enrolled, err := chromedp.Run(phone, chromedp.Evaluate[int](`fetch('/push/subscribe', {method: 'POST', credentials: 'same-origin',
		headers: {'Content-Type': 'application/json', 'X-CSRF-Token': document.getElementById('phone').dataset.csrf},
		body: JSON.stringify({name: 'Phone', subscription: `+string(sub)+`})}).then(r => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || enrolled != 201 {
		t.Fatalf("enroll the phone: %d, %v", enrolled, err)
	}

	// waitForPush opens the push step on the laptop and returns the
	// transaction the phone was told about and the number on the screen.
	waitForPush := func(name string) (push.Transaction, int) {
		t.Helper()
		do(laptop, "the push step", chromedp.WaitVisible(chromedp.ID("push-wait")))
		chromium.Screenshot(t, laptop, name)
		txID, err := chromedp.Run(laptop, chromedp.Evaluate[string](`document.getElementById('push-wait').dataset.tx`))
		if err != nil {
			t.Fatal(err)
		}
		shown, _ := chromedp.Run(laptop, chromedp.Text(chromedp.CSS(".bignumber")))
		tx, err := f.ap.Transaction(context.Background(), txID)
		if err != nil {
			t.Fatal(err)
		}
		if n, _ := strconv.Atoi(shown); n != tx.Number {
			t.Fatalf("the laptop shows %q, the transaction holds %d", shown, tx.Number)
		}
		msgs := f.svc.messages()
		if len(msgs) == 0 || !strings.Contains(string(msgs[len(msgs)-1].plaintext), tx.ID) {
			t.Fatalf("the phone was not sent transaction %s", tx.ID)
		}
		return tx, tx.Number
	}
	openOnPhone := func(tx push.Transaction) {
		t.Helper()
		do(phone, "the approval page", chromedp.Navigate(f.origin+"/approve/"+tx.ID), chromedp.WaitEnabled(chromedp.CSS(`button.number`)))
	}
	refusedOnLaptop := func(name string) {
		t.Helper()
		do(laptop, "the laptop learns the refusal", chromedp.WaitVisible(chromedp.Search(`//p[contains(@class, "error") and contains(., "refused on your phone")]`)))
		chromium.Screenshot(t, laptop, name)
	}

	// 1. The right number, confirmed with the passkey: signed in.
	signIn(laptop, "the laptop")
	do(laptop, "choose push", chromedp.WaitVisible(chromedp.CSS(`a[href*="kind=push"]`)), chromedp.Click(chromedp.CSS(`a[href*="kind=push"]`)))
	tx, number := waitForPush("laptop-waits")
	openOnPhone(tx)
	chromium.Screenshot(t, phone, "phone-approve")
	do(phone, "pick the right number and confirm",
		chromedp.Click(chromedp.CSS(`button.number[data-number="`+strconv.Itoa(number)+`"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="status" and contains(., "Approved")]`)),
	)
	chromium.Screenshot(t, phone, "phone-approved")
	do(laptop, "the laptop continues by itself", chromedp.WaitVisible(chromedp.ID("current")))
	chromium.Screenshot(t, laptop, "laptop-signed-in")
	factors, _ := f.dir.Factors(context.Background(), f.alice.ID)
	if i := slices.IndexFunc(factors, func(fa directory.Factor) bool { return fa.Kind == directory.FactorPasskey }); i < 0 || factors[i].LastUsed.IsZero() {
		t.Errorf("the passkey did not confirm the approval: %+v", factors)
	}

	// 2. A wrong number: refused, with no second guess.
	do(laptop, "sign out", chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.Search(`//h1[text()="Signed out"]`)))
	signIn(laptop, "the laptop")
	do(laptop, "choose push", chromedp.WaitVisible(chromedp.CSS(`a[href*="kind=push"]`)), chromedp.Click(chromedp.CSS(`a[href*="kind=push"]`)))
	tx, number = waitForPush("laptop-waits-again")
	wrong := tx.Choices[0]
	if wrong == number {
		wrong = tx.Choices[1]
	}
	openOnPhone(tx)
	do(phone, "pick a wrong number",
		chromedp.Click(chromedp.CSS(`button.number[data-number="`+strconv.Itoa(wrong)+`"]`)),
		chromedp.WaitVisible(chromedp.Search(`//p[@id="status" and contains(., "not the number")]`)),
	)
	chromium.Screenshot(t, phone, "phone-wrong-number")
	if n, _ := chromedp.Run(phone, chromedp.Evaluate[int](`document.querySelectorAll('button.number').length`)); n != 0 {
		t.Errorf("%d number buttons left after a wrong guess", n)
	}
	refusedOnLaptop("laptop-refused-wrong-number")

	// 3. Deny, after the laptop asks for a new request.
	do(laptop, "send a new request", chromedp.Click(chromedp.CSS(`a[href*="resend=1"]`)))
	tx, _ = waitForPush("laptop-waits-third")
	openOnPhone(tx)
	do(phone, "deny", chromedp.Click(chromedp.CSS(`form[action$="/deny"] button`)), chromedp.WaitVisible(chromedp.ID("message")))
	refusedOnLaptop("laptop-refused-deny")
	// Sent, passkey confirmed (audited by package passkey), approved; sent,
	// wrong number; sent, denied.
	if got, want := f.auditResults(t, "alice"), []string{"ok", "ok", "ok", "ok", "wrong-number", "ok", "denied"}; !slices.Equal(got, want) {
		t.Errorf("push audit %v, want %v", got, want)
	}
}
