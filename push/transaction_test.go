package push_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/push"
)

func TestTransactionNumbers(t *testing.T) {
	f := newFixture(t)
	f.enroll(t, f.alice, "phone")
	for range 3 {
		tx := f.start(t, f.alice)
		c := tx.Choices
		if tx.Number < 10 || tx.Number > 99 || !slices.Contains(c[:], tx.Number) {
			t.Errorf("number %d, choices %v", tx.Number, c)
		}
		for _, n := range c {
			if n < 10 || n > 99 {
				t.Errorf("choice %d is not two digits", n)
			}
		}
		if c[0] == c[1] || c[1] == c[2] || c[0] == c[2] {
			t.Errorf("choices %v are not distinct", c)
		}
		f.clock.Advance(4 * time.Minute) // stay under the rate limit
	}
}

func TestTransactionExpiresAfter60s(t *testing.T) {
	f := newFixture(t)
	f.enroll(t, f.alice, "phone")
	tx := f.start(t, f.alice)
	ctx := context.Background()
	f.clock.Advance(59 * time.Second)
	if s := f.ap.Status(ctx, tx.ID); s != push.Pending {
		t.Fatalf("at 59 s: %s, want pending", s)
	}
	f.clock.Advance(time.Second)
	if s := f.ap.Status(ctx, tx.ID); s != push.Expired {
		t.Fatalf("at 60 s: %s, want expired", s)
	}
	if err := f.ap.Approve(ctx, tx.ID, f.alice.ID, confirmation(tx, tx.Number, "none")); !errors.Is(err, push.ErrNotPending) {
		t.Errorf("approving an expired transaction: %v, want ErrNotPending", err)
	}
	if s := f.ap.Status(ctx, "no-such-transaction"); s != push.Expired {
		t.Errorf("unknown transaction: %s, want expired", s)
	}
}

// A new push replaces the outstanding one, which can no longer be approved.
func TestOneOutstandingPerUser(t *testing.T) {
	f := newFixture(t)
	f.enroll(t, f.alice, "phone")
	ctx := context.Background()
	first := f.start(t, f.alice)
	second := f.start(t, f.alice)
	if s := f.ap.Status(ctx, first.ID); s != push.Expired {
		t.Errorf("replaced transaction: %s, want expired", s)
	}
	if err := f.ap.Approve(ctx, first.ID, f.alice.ID, confirmation(first, first.Number, "none")); !errors.Is(err, push.ErrNotPending) {
		t.Errorf("approving the replaced transaction: %v", err)
	}
	if s := f.ap.Status(ctx, second.ID); s != push.Pending {
		t.Errorf("new transaction: %s, want pending", s)
	}
}

func TestAtMostThreePushesInTenMinutes(t *testing.T) {
	f := newFixture(t)
	f.enroll(t, f.alice, "phone")
	ctx := context.Background()
	req := push.Request{UserID: f.alice.ID, App: "Grafana", IP: "192.0.2.7"}
	for i := range 3 {
		if _, err := f.ap.Start(ctx, req); err != nil {
			t.Fatalf("push %d: %v", i+1, err)
		}
		f.clock.Advance(time.Minute)
	}
	if _, err := f.ap.Start(ctx, req); !errors.Is(err, push.ErrTooMany) {
		t.Fatalf("fourth push within 10 minutes: %v, want ErrTooMany", err)
	}
	if n := len(f.svc.messages()); n != 3 {
		t.Errorf("%d pushes reached the phone, want 3", n)
	}
	f.clock.Advance(7*time.Minute + time.Second) // the first push is now 10 min old
	if _, err := f.ap.Start(ctx, req); err != nil {
		t.Errorf("push after the window moved: %v", err)
	}
	if got := f.auditResults(t, "alice"); !slices.Contains(got, "throttled") {
		t.Errorf("audit %v lacks the throttled push", got)
	}
}

func TestRightNumberApproves(t *testing.T) {
	f := newFixture(t)
	f.enroll(t, f.alice, "phone")
	ctx := context.Background()
	tx := f.start(t, f.alice)

	ch, err := f.ap.Choose(ctx, tx.ID, f.alice.ID, tx.Number)
	if err != nil || ch.Ceremony == "" {
		t.Fatalf("choosing the right number: %+v, %v", ch, err)
	}
	// The passkey must confirm this transaction and number.
	other := f.start(t, f.bob(t))
	if err := f.ap.Approve(ctx, tx.ID, f.alice.ID, confirmation(other, tx.Number, ch.Ceremony)); !errors.Is(err, push.ErrPasskey) {
		t.Fatalf("assertion bound to another transaction: %v, want ErrPasskey", err)
	}
	if s := f.ap.Status(ctx, tx.ID); s != push.Pending {
		t.Fatalf("after a failed passkey check: %s, want still pending", s)
	}
	ch, _ = f.ap.Choose(ctx, tx.ID, f.alice.ID, tx.Number)
	if err := f.ap.Approve(ctx, tx.ID, f.alice.ID, confirmation(tx, tx.Number, ch.Ceremony)); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if s := f.ap.Status(ctx, tx.ID); s != push.Approved {
		t.Errorf("status %s, want approved", s)
	}
	if res, err := f.ap.Finish(ctx, tx.ID, f.alice.ID); err != nil || res != push.Approved {
		t.Errorf("finish: %s, %v", res, err)
	}
	if res, _ := f.ap.Finish(ctx, tx.ID, f.alice.ID); res == push.Approved {
		t.Error("one approval finished two sign-ins")
	}
	if got, want := f.auditResults(t, "alice"), []string{"ok", "bad-passkey", "ok"}; !slices.Equal(got, want) {
		t.Errorf("audit %v, want %v", got, want)
	}
}

// A wrong number refuses the transaction: there is no second guess.
// Choosing the right number without a passkey to confirm it with gets
// ErrNoPasskey, which the approval page explains, and leaves the
// transaction pending for when the user has added one.
func TestRightNumberWithoutPasskey(t *testing.T) {
	f := newFixture(t)
	f.ap = push.NewApprovals(f.dir, f.notifier, &fakeConfirmer{noPasskey: true, ceremonies: map[string]string{}}, nil)
	f.enroll(t, f.alice, "phone")
	tx := f.start(t, f.alice)
	if _, err := f.ap.Choose(context.Background(), tx.ID, f.alice.ID, tx.Number); !errors.Is(err, push.ErrNoPasskey) {
		t.Fatalf("choose without a passkey: %v, want ErrNoPasskey", err)
	}
	if s := f.ap.Status(context.Background(), tx.ID); s != push.Pending {
		t.Errorf("after choosing without a passkey: %s, want pending", s)
	}
}

func TestWrongNumberRefuses(t *testing.T) {
	f := newFixture(t)
	f.enroll(t, f.alice, "phone")
	ctx := context.Background()
	tx := f.start(t, f.alice)
	wrong := tx.Choices[0]
	if wrong == tx.Number {
		wrong = tx.Choices[1]
	}
	if _, err := f.ap.Choose(ctx, tx.ID, f.alice.ID, wrong); !errors.Is(err, push.ErrWrongNumber) {
		t.Fatalf("wrong number: %v, want ErrWrongNumber", err)
	}
	if s := f.ap.Status(ctx, tx.ID); s != push.Denied {
		t.Errorf("after a wrong number: %s, want denied", s)
	}
	if err := f.ap.Approve(ctx, tx.ID, f.alice.ID, confirmation(tx, tx.Number, "none")); !errors.Is(err, push.ErrNotPending) {
		t.Errorf("second guess: %v, want ErrNotPending", err)
	}
	if res, _ := f.ap.Finish(ctx, tx.ID, f.alice.ID); res != push.Denied {
		t.Errorf("finish: %s, want denied", res)
	}
	if got := f.auditResults(t, "alice"); !slices.Contains(got, "wrong-number") {
		t.Errorf("audit %v lacks wrong-number", got)
	}
}

func TestDenyRefuses(t *testing.T) {
	f := newFixture(t)
	f.enroll(t, f.alice, "phone")
	ctx := context.Background()
	tx := f.start(t, f.alice)
	if err := f.ap.Deny(ctx, tx.ID, f.alice.ID); err != nil {
		t.Fatal(err)
	}
	if s := f.ap.Status(ctx, tx.ID); s != push.Denied {
		t.Errorf("status %s, want denied", s)
	}
	if err := f.ap.Approve(ctx, tx.ID, f.alice.ID, confirmation(tx, tx.Number, "none")); !errors.Is(err, push.ErrNotPending) {
		t.Errorf("approve after deny: %v", err)
	}
	if got := f.auditResults(t, "alice"); !slices.Equal(got, []string{"ok", "denied"}) {
		t.Errorf("audit %v, want [ok denied]", got)
	}
	if f.ap.Suspended(ctx, f.alice.ID) {
		t.Error("a plain Deny suspended push")
	}
}

// "This wasn't me" denies, suspends push until the user turns it back on,
// and is audited.
func TestNotMeSuspends(t *testing.T) {
	f := newFixture(t)
	f.enroll(t, f.alice, "phone")
	ctx := context.Background()
	tx := f.start(t, f.alice)
	if err := f.ap.NotMe(ctx, tx.ID, f.alice.ID); err != nil {
		t.Fatal(err)
	}
	if s := f.ap.Status(ctx, tx.ID); s != push.Denied {
		t.Errorf("status %s, want denied", s)
	}
	f.clock.Advance(24 * time.Hour)
	if _, err := f.ap.Start(ctx, push.Request{UserID: f.alice.ID, App: "Grafana"}); !errors.Is(err, push.ErrSuspended) {
		t.Fatalf("push a day later: %v, want ErrSuspended", err)
	}
	if n := len(f.svc.messages()); n != 1 {
		t.Errorf("%d pushes sent, want only the first", n)
	}
	if got := f.auditResults(t, "alice"); !slices.Equal(got, []string{"ok", "not-me", "suspended"}) {
		t.Errorf("audit %v, want [ok not-me suspended]", got)
	}
	if err := f.ap.Unsuspend(ctx, f.alice.ID); err != nil {
		t.Fatal(err)
	}
	f.start(t, f.alice)
}

// An admin's MFA reset (atrium user mfa reset) lifts a suspension with the
// factors: the phone the user enrolls again gets pushes at once.
func TestResetMFALiftsSuspension(t *testing.T) {
	f := newFixture(t)
	f.enroll(t, f.alice, "phone")
	ctx := context.Background()
	tx := f.start(t, f.alice)
	if err := f.ap.NotMe(ctx, tx.ID, f.alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := f.dir.ResetMFA(ctx, f.alice.ID); err != nil {
		t.Fatal(err)
	}
	if f.ap.Suspended(ctx, f.alice.ID) {
		t.Fatal("push still suspended after the MFA reset")
	}
	// Enrolled in the directory directly, not through /push/subscribe,
	// which turns push back on by itself.
	f.enroll(t, f.alice, "new-phone")
	f.start(t, f.alice)
}

// Only the transaction's own user may answer it.
func TestAnotherUserCannotAnswer(t *testing.T) {
	f := newFixture(t)
	f.enroll(t, f.alice, "phone")
	ctx := context.Background()
	tx := f.start(t, f.alice)
	bob := f.bob(t)
	for name, err := range map[string]error{
		"choose":  func() error { _, err := f.ap.Choose(ctx, tx.ID, bob.ID, tx.Number); return err }(),
		"approve": f.ap.Approve(ctx, tx.ID, bob.ID, confirmation(tx, tx.Number, "none")),
		"deny":    f.ap.Deny(ctx, tx.ID, bob.ID),
		"not me":  f.ap.NotMe(ctx, tx.ID, bob.ID),
	} {
		if !errors.Is(err, push.ErrNotYours) {
			t.Errorf("%s by bob: %v, want ErrNotYours", name, err)
		}
	}
	if s := f.ap.Status(ctx, tx.ID); s != push.Pending {
		t.Errorf("status %s after bob's attempts, want pending", s)
	}
	if f.ap.Suspended(ctx, f.alice.ID) || f.ap.Suspended(ctx, bob.ID) {
		t.Error("bob's 'not me' suspended someone")
	}
}

func TestNoPhoneNoPush(t *testing.T) {
	f := newFixture(t)
	if _, err := f.ap.Start(context.Background(), push.Request{UserID: f.alice.ID}); !errors.Is(err, push.ErrNoDevice) {
		t.Errorf("push without a phone: %v, want ErrNoDevice", err)
	}
	ph := f.enroll(t, f.alice, "phone")
	f.svc.status[ph.Name] = 500
	if _, err := f.ap.Start(context.Background(), push.Request{UserID: f.alice.ID}); !errors.Is(err, push.ErrNoDevice) {
		t.Errorf("push with the service failing: %v, want ErrNoDevice", err)
	}
}

func (f *fixture) bob(t *testing.T) directory.User {
	t.Helper()
	if u, err := f.dir.User(context.Background(), "bob"); err == nil {
		return u
	}
	u, err := f.dir.CreateUser(context.Background(), directory.User{UID: "bob", Mail: "bob@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	f.enroll(t, u, "bob-phone")
	return u
}

func TestDescribe(t *testing.T) {
	for _, c := range []struct{ ua, browser, os string }{
		{firefoxLinux, "Firefox", "Linux"},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge", "Windows"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari", "macOS"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1", "Chrome", "iOS"},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome", "Android"},
		{"", "a browser", "an unknown system"},
	} {
		if b, o := push.Describe(c.ua); b != c.browser || o != c.os {
			t.Errorf("Describe(%q) = %s, %s; want %s, %s", c.ua, b, o, c.browser, c.os)
		}
	}
}
