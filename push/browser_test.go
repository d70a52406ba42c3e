package push_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"

	chromium "github.com/atrium-dir/atrium/internal/browser"
	"github.com/atrium-dir/atrium/push"
)

// TestServiceWorkerInChromium registers the real service worker from the
// phone setup page, enrolls a subscription through the real endpoint, then
// has the server send a push: the test push service decrypts it and hands
// the payload to Chromium with ServiceWorker.deliverPushMessage. The
// worker's push handler must show the prompt (the setup page hears of it
// and the notification is listed), and its click logic must open the
// approval page.
func TestServiceWorkerInChromium(t *testing.T) {
	f := newWebFixture(t)
	b := chromium.New(t)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(what, js string) string {
		t.Helper()
		out, err := chromedp.Run(b, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return out
	}

	step("sign in on the phone",
		chromedp.Navigate(f.srv.URL+"/push/phone"),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "alice-password"),
		chromedp.Submit(chromedp.ID("password")),
		chromedp.WaitVisible(chromedp.ID("current")),
		chromedp.Navigate(f.srv.URL+"/push/phone"),
		chromedp.WaitVisible(chromedp.ID("enroll")),
	)
	chromium.Screenshot(t, b, "phone-setup")
	if _, err := chromedp.CallBrowser(b, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "notifications"}, Setting: browser.PermissionSettingGranted, Origin: f.srv.URL,
	}); err != nil {
		t.Fatalf("grant notifications: %v", err)
	}

	// Headless Chromium has no push service to subscribe with, so the page
	// enrolls a subscription of the test push service instead, through the
	// same endpoint and CSRF token the page's own script uses.
	sub := f.svc.add(newPushDevice(t, "chromium"))
	got := eval("register and enroll", `(async () => {
		await navigator.serviceWorker.register('/sw.js', {scope: '/'});
		await navigator.serviceWorker.ready;
		const res = await fetch('/push/subscribe', {method: 'POST', credentials: 'same-origin',
			headers: {'Content-Type': 'application/json', 'X-CSRF-Token': document.getElementById('phone').dataset.csrf},
			body: JSON.stringify({name: 'Chromium', subscription: `+string(sub)+`})});
		return res.status + ' ' + (await res.text());
	})()`)
	if !strings.HasPrefix(got, "201 ") {
		t.Fatalf("enroll: %s", got)
	}
	regID := registration(t, b, f.srv.URL)

	tx, err := f.ap.Start(context.Background(), push.Request{UserID: f.alice.ID, App: "Grafana", IP: "192.0.2.7", UserAgent: firefoxLinux})
	if err != nil {
		t.Fatal(err)
	}
	msgs := f.svc.messages()
	if len(msgs) != 1 {
		t.Fatalf("push service got %d messages", len(msgs))
	}
	if _, err := chromedp.Call(b, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{
		Origin: f.srv.URL, RegistrationID: regID, Data: string(msgs[0].plaintext),
	}); err != nil {
		t.Fatalf("deliver push: %v", err)
	}
	step("the page hears of the prompt", chromedp.Poll[chromedp.Void](`document.getElementById('status').textContent.includes('sign-in request arrived') || undefined`))
	shown := eval("notifications", `navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => JSON.stringify(ns.map(n => ({title: n.title, body: n.body, tx: n.data.tx}))))`)
	var notes []struct{ Title, Body, Tx string }
	json.Unmarshal([]byte(shown), &notes)
	if len(notes) != 1 || notes[0].Title != "Sign-in to Grafana" || notes[0].Tx != tx.ID || !strings.Contains(notes[0].Body, "Firefox on Linux, 192.0.2.7") {
		t.Errorf("notifications shown: %s", shown)
	}
	chromium.Screenshot(t, b, "phone-prompt-arrived")

	// No protocol command clicks a notification: call the worker's click
	// logic as the notificationclick listener does.
	worker := workerContext(t, b)
	if _, err := chromedp.Run(worker, chromedp.Evaluate[chromedp.Void](
		`self.atriumClick({data: {tx: '`+tx.ID+`'}, close() {}}, 'review')`, chromedp.EvalAwaitPromise)); err != nil {
		t.Fatalf("click: %v", err)
	}
	step("the approval page opens", chromedp.WaitVisible(chromedp.CSS(`button.number`)))
	url, _ := chromedp.Run(b, chromedp.Location())
	if !strings.HasSuffix(url, "/approve/"+tx.ID) {
		t.Errorf("after the click the phone shows %s", url)
	}
	text, _ := chromedp.Run(b, chromedp.Text(chromedp.CSS(".request")))
	if !strings.Contains(text, "Sign-in to Grafana from Firefox on Linux, 192.0.2.7") {
		t.Errorf("approval page says %q", text)
	}
	chromium.Screenshot(t, b, "approve")

	step("deny in one tap",
		chromedp.Click(chromedp.CSS(`form[action$="/deny"] button`)),
		chromedp.WaitVisible(chromedp.ID("message")),
	)
	chromium.Screenshot(t, b, "denied")
	if s := f.ap.Status(context.Background(), tx.ID); s != push.Denied {
		t.Errorf("after Deny: %s", s)
	}
}

// registration returns the id of the origin's service worker registration.
func registration(t *testing.T, b context.Context, origin string) serviceworker.RegistrationID {
	t.Helper()
	id, err := chromedp.Run(b, func(ctx context.Context, tg *chromedp.Target) (serviceworker.RegistrationID, error) {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		events := cdp.Events(ctx, tg, serviceworker.WorkerRegistrationUpdated)
		if _, err := cdp.Call(ctx, tg, serviceworker.Enable, cdp.Empty{}); err != nil {
			return "", err
		}
		for ev, err := range events {
			if err != nil {
				return "", err
			}
			for _, r := range ev.Registrations {
				if strings.HasPrefix(r.ScopeURL, origin) && !r.IsDeleted {
					return r.RegistrationID, nil
				}
			}
		}
		return "", errors.New("no service worker registration")
	})
	if err != nil {
		t.Fatalf("service worker registration: %v", err)
	}
	return id
}

// workerContext attaches to the running service worker.
func workerContext(t *testing.T, b context.Context) context.Context {
	t.Helper()
	targets, err := chromedp.Targets(b)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range targets {
		if info.Type == "service_worker" {
			ctx, cancel := chromedp.NewContext(b, chromedp.WithTargetID(info.TargetID))
			t.Cleanup(cancel)
			return ctx
		}
	}
	t.Fatal("no service worker target")
	return nil
}
