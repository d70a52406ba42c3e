package otp_test

import (
	"context"
	"encoding/base32"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/otp"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/totp"
)

func setup(t *testing.T) (*directory.Directory, *dirtest.Clock, *signin.Flow) {
	t.Helper()
	clock := dirtest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	d := dirtest.New(t, clock.Now)
	u, err := d.CreateUser(context.Background(), directory.User{UID: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	f := &signin.Flow{ID: "flow-1", UserID: u.ID, Methods: []string{"pwd"}, Created: clock.Now(), Expires: clock.Now().Add(15 * time.Minute)}
	return d, clock, f
}

func post(form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	r.PostForm = form
	return r
}

// refusal is the status of a refusal shown on the form, or fails.
func refusal(t *testing.T, err error) int {
	t.Helper()
	var se *signin.StepError
	if !errors.As(err, &se) {
		t.Fatalf("%v is not a refusal for the page", err)
	}
	return se.Status
}

var shownSecret = regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`)

// The enrollment shows one secret for the flow however often the page is
// reloaded; a code from it turns the app on and proves otp, and then
// checking codes is the second-factor step's.
func TestEnrollThenSignInWithCode(t *testing.T) {
	d, clock, f := setup(t)
	ctx := context.Background()
	enroll := otp.Enrollment(d)
	page := httptest.NewRequest(http.MethodGet, "/login?flow=flow-1", nil)
	first, err := enroll.Form(page, f)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := enroll.Form(page, f)
	m := shownSecret.FindStringSubmatch(string(first))
	if m == nil || first != again {
		t.Fatalf("the secret is not shown, or changes on reload:\n%s\n%s", first, again)
	}
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(m[1], " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	if status := refusal(t, enroll.Submit(ctx, post(url.Values{"code": {"000000"}}), f)); status != http.StatusUnauthorized {
		t.Errorf("a wrong code: status %d, want 401", status)
	}
	code, _ := totp.CodeAt(secret, totp.Step(clock.Now()))
	if err := enroll.Submit(ctx, post(url.Values{"code": {code}}), f); err != nil {
		t.Fatalf("the right code: %v", err)
	}
	if !slices.Contains(f.Methods, otp.MethodOTP) {
		t.Errorf("methods %v, want otp proved", f.Methods)
	}
	factors, _ := d.Factors(ctx, f.UserID)
	if len(factors) != 1 || factors[0].Kind != directory.FactorTOTP {
		t.Fatalf("factors after enrollment: %+v", factors)
	}

	clock.Advance(time.Minute)
	next := &signin.Flow{ID: "flow-2", UserID: f.UserID, Methods: []string{"pwd"}}
	sf := otp.SecondFactor(d)
	code, _ = totp.CodeAt(secret, totp.Step(clock.Now()))
	if err := sf.Submit(ctx, post(url.Values{"code": {code}}), next); err != nil || !slices.Contains(next.Methods, "otp") {
		t.Fatalf("sign in with the app: %v, methods %v", err, next.Methods)
	}
	if status := refusal(t, sf.Submit(ctx, post(url.Values{"code": {code}}), next)); status != http.StatusUnauthorized {
		t.Errorf("the same code again: status %d, want 401", status)
	}
}

// A recovery code works once, and proves otp.
func TestRecoveryCodeWorksOnce(t *testing.T) {
	d, _, f := setup(t)
	ctx := context.Background()
	codes, err := d.NewRecoveryCodes(ctx, f.UserID)
	if err != nil {
		t.Fatal(err)
	}
	rc := otp.RecoveryCode(d)
	if rc.Kind() != signin.FactorRecovery {
		t.Errorf("kind %q", rc.Kind())
	}
	if err := rc.Submit(ctx, post(url.Values{"code": {codes[0]}}), f); err != nil || !slices.Contains(f.Methods, "otp") {
		t.Fatalf("a recovery code: %v, methods %v", err, f.Methods)
	}
	if status := refusal(t, rc.Submit(ctx, post(url.Values{"code": {codes[0]}}), f)); status != http.StatusUnauthorized {
		t.Errorf("the same code again: status %d, want 401", status)
	}
}
