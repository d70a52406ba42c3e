package push_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/sitetest"
	"github.com/atrium-dir/atrium/passkey"
	"github.com/atrium-dir/atrium/portal"
	"github.com/atrium-dir/atrium/push"
	"github.com/atrium-dir/atrium/web"
)

// webFixture serves the sign-in and self-service pages with push mounted, as cmd/atrium does, on
// a real loopback server.
type webFixture struct {
	*fixture
	srv    *httptest.Server
	origin string // the external URL, http://localhost:PORT
	bob    directory.User
}

func newWebFixture(t *testing.T) *webFixture { return newWebFixtureWith(t, false) }

// newWebFixtureWith serves at http://localhost:PORT; with realPasskeys the
// passkey package confirms approvals and serves its own pages, as in
// cmd/atrium, instead of the fake Confirmer.
func newWebFixtureWith(t *testing.T, realPasskeys bool) *webFixture {
	t.Helper()
	f := &webFixture{fixture: newFixture(t)}
	ctx := context.Background()
	f.bob = f.bob0(t)
	for _, uid := range []string{"alice", "bob"} {
		if err := f.dir.SetPassword(ctx, uid, uid+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	f.srv = httptest.NewUnstartedServer(nil)
	// A host name, not an IP address: it is the passkeys' RP ID.
	ext, _ := url.Parse("http://localhost:" + strconv.Itoa(f.srv.Listener.Addr().(*net.TCPAddr).Port))
	f.origin = ext.String()
	var keys *passkey.Passkeys
	var sections []portal.AccountSection
	if realPasskeys {
		var err error
		if keys, err = passkey.New(f.dir, ext, passkey.Options{Now: f.clock.Now}); err != nil {
			t.Fatal(err)
		}
		f.ap = push.NewApprovals(f.dir, f.notifier, keys, nil)
		sections = append(sections, passkey.Section{})
	}
	mux, e := sitetest.New(f.dir, ext, f.clock.Now, append(sections, push.NewSection(f.ap))...)
	if keys != nil {
		e.AddSecondFactor(keys.SecondFactor())
		mux.Handle("/passkey/", web.Protect(passkey.NewHandler(keys, e, nil), nil))
	}
	e.AddSecondFactor(push.NewSecondFactor(f.ap))
	push.NewHandler(f.ap, e, f.keys, push.Options{Now: f.clock.Now}).Mount(mux)
	f.srv.Config.Handler = mux
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

// bob0 is a second user without a phone.
func (f *fixture) bob0(t *testing.T) directory.User {
	u, err := f.dir.CreateUser(context.Background(), directory.User{UID: "bob", Mail: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// webBrowser is one browser: its own cookies, redirects not followed.
type webBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func (f *webFixture) browser(t *testing.T) *webBrowser {
	jar, _ := cookiejar.New(nil)
	return &webBrowser{t: t, base: f.srv.URL, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *webBrowser) do(method, path, contentType, csrf string, body io.Reader) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

func (b *webBrowser) get(path string) (*http.Response, string) { return b.do("GET", path, "", "", nil) }

func (b *webBrowser) postForm(path string, form url.Values) (*http.Response, string) {
	return b.do("POST", path, "application/x-www-form-urlencoded", "", strings.NewReader(form.Encode()))
}

func (b *webBrowser) postJSON(path, csrf string, v any) (*http.Response, string) {
	raw, _ := json.Marshal(v)
	return b.do("POST", path, "application/json", csrf, strings.NewReader(string(raw)))
}

var (
	webHidden = regexp.MustCompile(`name="(flow|csrf|step|kind)" value="([^"]*)"`)
	webCSRF   = regexp.MustCompile(`data-csrf="([^"]+)"`)
	webTx     = regexp.MustCompile(`data-tx="([^"]+)"`)
	webNumber = regexp.MustCompile(`class="bignumber">(\d+)<`)
)

func formOf(body string) url.Values {
	form := url.Values{}
	for _, m := range webHidden.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], m[2])
	}
	return form
}

// login goes through the password step; it returns the page that follows
// (the second-factor step, or the end of the flow).
func (b *webBrowser) login(uid string) (*http.Response, string) {
	b.t.Helper()
	resp, _ := b.get("/login")
	_, body := b.get(resp.Header.Get("Location"))
	form := formOf(body)
	form.Set("username", uid)
	form.Set("password", uid+"-password")
	resp, body = b.postForm("/login", form)
	if resp.StatusCode != http.StatusSeeOther {
		b.t.Fatalf("password step: %d\n%s", resp.StatusCode, body)
	}
	return b.get(resp.Header.Get("Location"))
}

// signedIn follows a finished flow and checks it ends signed in.
func (b *webBrowser) signedIn(resp *http.Response, body string) {
	b.t.Helper()
	for i := 0; i < 3 && resp.StatusCode == http.StatusSeeOther && resp.Header.Get("Location") != "/"; i++ {
		resp, body = b.get(resp.Header.Get("Location"))
	}
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		b.t.Fatalf("sign-in did not finish: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
	}
}

// phone signs uid in on a phone (before any factor exists) and enrolls it
// through /push/phone and /push/subscribe.
func (f *webFixture) phone(t *testing.T, uid, name string) (*webBrowser, string) {
	t.Helper()
	b := f.browser(t)
	b.signedIn(b.login(uid))
	resp, body := b.get("/push/phone")
	m := webCSRF.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("phone page: %d\n%s", resp.StatusCode, body)
	}
	csrf := m[1]
	sub := f.svc.add(newPushDevice(t, name))
	resp, body = b.postJSON("/push/subscribe", csrf, map[string]any{"name": "My phone", "subscription": json.RawMessage(sub)})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", resp.StatusCode, body)
	}
	resp, _ = b.postJSON("/push/subscribe", csrf, map[string]any{"name": "My phone", "subscription": json.RawMessage(sub)})
	if resp.StatusCode != http.StatusOK {
		t.Errorf("subscribing the same browser again: %d, want 200 (the same factor)", resp.StatusCode)
	}
	return b, csrf
}

// laptop starts a sign-in of alice that waits for push; it returns the
// login form, the transaction and the number shown.
func (f *webFixture) laptop(t *testing.T) (*webBrowser, url.Values, push.Transaction, int) {
	t.Helper()
	b := f.browser(t)
	resp, body := b.login("alice")
	tm, nm := webTx.FindStringSubmatch(body), webNumber.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || tm == nil || nm == nil || !strings.Contains(body, "/push/assets/wait.js") {
		t.Fatalf("push step: %d\n%s", resp.StatusCode, body)
	}
	tx, err := f.ap.Transaction(context.Background(), tm[1])
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(nm[1]); n != tx.Number {
		t.Fatalf("login page shows %d, transaction has %d", n, tx.Number)
	}
	return b, formOf(body), tx, tx.Number
}

func (f *webFixture) status(t *testing.T, b *webBrowser, tx string) string {
	t.Helper()
	_, body := b.get("/push/status/" + tx)
	var out struct{ Status string }
	if err := json.Unmarshal([]byte(body), &out); err != nil {
		t.Fatalf("status: %s", body)
	}
	return out.Status
}

// The approval page is shown only to the transaction's own user, signed in
// on the phone: another user's session is refused and cannot answer.
func TestApprovalPageRefusesAnotherUser(t *testing.T) {
	f := newWebFixture(t)
	f.phone(t, "alice", "alice-phone")
	_, _, tx, _ := f.laptop(t)

	bob := f.browser(t)
	bob.signedIn(bob.login("bob"))
	resp, body := bob.get("/approve/" + tx.ID)
	if resp.StatusCode != http.StatusForbidden || strings.Contains(body, "Grafana") || strings.Contains(body, "data-number") {
		t.Fatalf("bob's session on alice's approval page: %d\n%s", resp.StatusCode, body)
	}
	_, acct := bob.get("/push/phone")
	bobCSRF := webCSRF.FindStringSubmatch(acct)[1]
	resp, _ = bob.postForm("/approve/"+tx.ID+"/deny", url.Values{"csrf": {bobCSRF}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("bob denying alice's sign-in: %d, want 403", resp.StatusCode)
	}
	resp, _ = bob.postJSON("/approve/"+tx.ID+"/choose", bobCSRF, map[string]int{"number": tx.Number})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("bob choosing for alice: %d, want 403", resp.StatusCode)
	}
	if s := f.status(t, bob, tx.ID); s != "pending" {
		t.Errorf("after bob's attempts: %s, want pending", s)
	}

	// Without a session the page signs in first, then comes back.
	stranger := f.browser(t)
	resp, _ = stranger.get("/approve/" + tx.ID)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login?flow=") {
		t.Errorf("approval page without a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// The whole push sign-in over HTTP: the login page shows the number, the
// phone picks it and confirms, the login page learns "approved" and the
// sign-in finishes.
func TestPushSignInApproved(t *testing.T) {
	f := newWebFixture(t)
	phone, _ := f.phone(t, "alice", "alice-phone")
	laptop, form, tx, number := f.laptop(t)

	resp, body := phone.get("/approve/" + tx.ID)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("approval page: %d\n%s", resp.StatusCode, body)
	}
	for _, want := range []string{"Sign-in to <strong>Atrium</strong>", "from <strong>", "This wasn't me", "Deny", `data-number="` + strconv.Itoa(number) + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("approval page lacks %q", want)
		}
	}
	if strings.Count(body, `class="number"`) != 3 {
		t.Errorf("approval page does not offer three numbers:\n%s", body)
	}
	csrf := webCSRF.FindStringSubmatch(body)[1]
	// The notification's Deny button opens the page with only Deny ready.
	if _, body := phone.get("/approve/" + tx.ID + "?deny"); strings.Contains(body, "data-number") || !strings.Contains(body, `action="/approve/`+tx.ID+`/deny"`) {
		t.Errorf("deny view:\n%s", body)
	}
	if resp, _ := phone.postJSON("/approve/"+tx.ID+"/choose", "", map[string]int{"number": number}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("choose without the CSRF token: %d, want 403", resp.StatusCode)
	}

	// Continuing before the phone answered is refused.
	resp, body = laptop.postForm("/login", form)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(body, "Not approved yet") {
		t.Errorf("continue while pending: %d", resp.StatusCode)
	}

	resp, body = phone.postJSON("/approve/"+tx.ID+"/choose", csrf, map[string]int{"number": number})
	var ch push.ConfirmChallenge
	if err := json.Unmarshal([]byte(body), &ch); resp.StatusCode != http.StatusOK || err != nil || ch.Ceremony == "" {
		t.Fatalf("choose: %d %s", resp.StatusCode, body)
	}
	resp, body = phone.postJSON("/approve/"+tx.ID+"/confirm", csrf, confirmation(tx, number, ch.Ceremony))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"approved"`) {
		t.Fatalf("confirm: %d %s", resp.StatusCode, body)
	}
	if s := f.status(t, laptop, tx.ID); s != "approved" {
		t.Fatalf("status: %s, want approved", s)
	}
	laptop.signedIn(laptop.postForm("/login", form))
}

// A wrong number on the phone, or Deny, refuses the sign-in on the laptop.
func TestPushSignInRefused(t *testing.T) {
	for _, answer := range []string{"wrong number", "deny", "not me"} {
		t.Run(answer, func(t *testing.T) {
			f := newWebFixture(t)
			phone, _ := f.phone(t, "alice", "alice-phone")
			laptop, form, tx, number := f.laptop(t)
			_, page := phone.get("/approve/" + tx.ID)
			csrf := webCSRF.FindStringSubmatch(page)[1]
			switch answer {
			case "wrong number":
				wrong := tx.Choices[0]
				if wrong == number {
					wrong = tx.Choices[1]
				}
				_, body := phone.postJSON("/approve/"+tx.ID+"/choose", csrf, map[string]int{"number": wrong})
				if !strings.Contains(body, `"denied"`) {
					t.Fatalf("wrong number: %s", body)
				}
				// No second guess.
				_, body = phone.postJSON("/approve/"+tx.ID+"/choose", csrf, map[string]int{"number": number})
				if !strings.Contains(body, `"expired"`) || strings.Contains(body, "ceremony") {
					t.Fatalf("second guess: %s", body)
				}
			case "deny":
				if resp, _ := phone.postForm("/approve/"+tx.ID+"/deny", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusOK {
					t.Fatalf("deny: %d", resp.StatusCode)
				}
			case "not me":
				if resp, _ := phone.postForm("/approve/"+tx.ID+"/not-me", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusOK {
					t.Fatalf("not me: %d", resp.StatusCode)
				}
			}
			if s := f.status(t, laptop, tx.ID); s != "denied" {
				t.Errorf("status %s, want denied", s)
			}
			resp, body := laptop.postForm("/login", form)
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "refused on your phone") {
				t.Errorf("continue after %s: %d\n%s", answer, resp.StatusCode, body)
			}
			if answer == "not me" {
				// The account page offers to turn approvals back on.
				_, acct := phone.get("/")
				if !strings.Contains(acct, `action="/push/resume"`) {
					t.Errorf("account page after 'not me' lacks the resume form")
				}
				if !f.ap.Suspended(context.Background(), f.alice.ID) {
					t.Error("push not suspended")
				}
				resp, _ := phone.postForm("/push/resume", url.Values{"csrf": {csrf}})
				if resp.StatusCode != http.StatusSeeOther || f.ap.Suspended(context.Background(), f.alice.ID) {
					t.Errorf("resume: %d, suspended %v", resp.StatusCode, f.ap.Suspended(context.Background(), f.alice.ID))
				}
			}
		})
	}
}

func TestManifestAndServiceWorker(t *testing.T) {
	f := newWebFixture(t)
	b := f.browser(t)
	resp, body := b.get("/manifest.webmanifest")
	var m struct {
		Name, StartURL, Display string
		Icons                   []struct{ Src, Sizes string }
	}
	json.Unmarshal([]byte(body), &m)
	if resp.StatusCode != 200 || m.Display != "standalone" || len(m.Icons) != 2 {
		t.Fatalf("manifest: %d %s", resp.StatusCode, body)
	}
	for _, icon := range m.Icons {
		if resp, body := b.get(icon.Src); resp.StatusCode != 200 || !strings.HasPrefix(body, "\x89PNG") {
			t.Errorf("icon %s: %d", icon.Src, resp.StatusCode)
		}
	}
	resp, body = b.get("/sw.js")
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") || !strings.Contains(body, "self.atriumClick") {
		t.Errorf("service worker: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	resp, body = b.get("/push/key")
	if resp.StatusCode != 200 || !strings.Contains(body, f.keys.PublicKey()) {
		t.Errorf("VAPID key: %d %s", resp.StatusCode, body)
	}
}

// A phone set up for push on an account without a passkey cannot confirm
// an approval: picking the right number says plainly to add a passkey on
// the phone, and the sign-in stays pending so it can still be approved.
func TestPushApprovalWithoutPasskeySaysToAddOne(t *testing.T) {
	f := newWebFixtureWith(t, true)
	phone, _ := f.phone(t, "alice", "alice-phone")
	_, _, tx, number := f.laptop(t)
	_, page := phone.get("/approve/" + tx.ID)
	csrf := webCSRF.FindStringSubmatch(page)[1]
	resp, body := phone.postJSON("/approve/"+tx.ID+"/choose", csrf, map[string]int{"number": number})
	var answer struct{ Error string }
	json.Unmarshal([]byte(body), &answer)
	if resp.StatusCode != http.StatusConflict || !strings.Contains(answer.Error, "add one under Passkeys") {
		t.Errorf("choose without a passkey: %d %s", resp.StatusCode, body)
	}
	if s := f.status(t, phone, tx.ID); s != "pending" {
		t.Errorf("status %s, want pending", s)
	}
}

// A new phone is a new way in: a session signed in more than a quarter of
// an hour ago is asked to sign in again before adding one.
func TestNewPhoneNeedsARecentSignIn(t *testing.T) {
	f := newWebFixture(t)
	b, csrf := f.phone(t, "alice", "first")
	f.clock.Advance(16 * time.Minute)
	_, body := b.get("/push/phone") // keeps the session from idling out
	if !strings.Contains(body, csrf) {
		t.Fatalf("phone page after 16 minutes:\n%s", body)
	}
	sub := f.svc.add(newPushDevice(t, "second"))
	resp, body := b.postJSON("/push/subscribe", csrf, map[string]any{"name": "Tablet", "subscription": json.RawMessage(sub)})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "sign in again") {
		t.Errorf("new phone after 16 minutes: %d %s", resp.StatusCode, body)
	}
}
