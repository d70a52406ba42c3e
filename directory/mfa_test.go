package directory_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/internal/testenv"
	"github.com/atrium-dir/atrium/totp"
)

// mfaOathtool computes the code of secret at t with oathtool, independently
// of package totp.
func mfaOathtool(t *testing.T, secret []byte, at time.Time) string {
	t.Helper()
	path := testenv.Tool(t, "oathtool", "oathtool")
	out, err := exec.Command(path, "--totp", "-b", "--now", at.UTC().Format("2006-01-02 15:04:05 UTC"), totp.EncodeSecret(secret)).Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func mfaTestDir(t *testing.T, c *clock, policy directory.MFAPolicy) (*directory.Directory, directory.User) {
	t.Helper()
	d := newTestDir(t, c, directory.Options{SecretKey: bytes.Repeat([]byte{7}, 32), MFA: policy})
	u, err := d.CreateUser(context.Background(), directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	return d, u
}

// mfaEnroll enrolls a TOTP factor confirmed with oathtool's code at the
// clock's time and returns its secret.
func mfaEnroll(t *testing.T, d *directory.Directory, c *clock, userID string) ([]byte, directory.Factor) {
	t.Helper()
	ctx := context.Background()
	secret, err := d.BeginTOTP(ctx, userID)
	must(t, err)
	f, err := d.ConfirmTOTP(ctx, userID, "Phone", mfaOathtool(t, secret, c.Now()), "192.0.2.1")
	must(t, err)
	return secret, f
}

func TestTOTPEnrollAndVerifyWithOathtool(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d, u := mfaTestDir(t, c, directory.MFAPolicy{})

	secret, err := d.BeginTOTP(ctx, u.ID)
	must(t, err)
	if _, err := d.ConfirmTOTP(ctx, u.ID, "Phone", "000000", "192.0.2.1"); !errors.Is(err, directory.ErrBadCode) {
		t.Fatalf("wrong enrollment code: %v", err)
	}
	enrollCode := mfaOathtool(t, secret, c.Now())
	f, err := d.ConfirmTOTP(ctx, u.ID, "Phone", enrollCode, "192.0.2.1")
	must(t, err)
	if f.Kind != directory.FactorTOTP || f.Name != "Phone" || f.ID == "" {
		t.Fatalf("factor = %+v", f)
	}
	if err := d.VerifyTOTP(ctx, u.ID, enrollCode, "192.0.2.1", "web"); !errors.Is(err, directory.ErrBadCode) {
		t.Fatalf("the enrollment code signed in again: %v", err)
	}
	if _, err := d.ConfirmTOTP(ctx, u.ID, "Phone", enrollCode, "192.0.2.1"); !errors.Is(err, directory.ErrBadCode) {
		t.Fatalf("a confirmed enrollment was confirmed again: %v", err)
	}

	c.Advance(totp.Period)
	code := mfaOathtool(t, secret, c.Now())
	must(t, d.VerifyTOTP(ctx, u.ID, code, "192.0.2.1", "web"))
	if err := d.VerifyTOTP(ctx, u.ID, code, "192.0.2.1", "web"); !errors.Is(err, directory.ErrBadCode) {
		t.Fatalf("replayed code: %v", err)
	}

	got, err := d.Factors(ctx, u.ID)
	must(t, err)
	if len(got) != 1 || got[0].ID != f.ID || !got[0].LastUsed.Equal(c.Now()) {
		t.Fatalf("factors = %+v", got)
	}
	stored, err := d.FactorSecret(ctx, u.ID, f.ID)
	must(t, err)
	if !bytes.Equal(stored, secret) {
		t.Fatal("stored secret differs")
	}
}

func TestTOTPSkew(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d, u := mfaTestDir(t, c, directory.MFAPolicy{})
	secret, _ := mfaEnroll(t, d, c, u.ID)
	c.Advance(10 * totp.Period)

	for _, tc := range []struct {
		steps int
		ok    bool
	}{{-2, false}, {2, false}, {-1, true}, {1, true}} {
		// Later steps first would spend the earlier ones; a fresh enrollment
		// per case keeps them independent.
		d, u := mfaTestDir(t, c, directory.MFAPolicy{})
		secret, _ := mfaEnroll(t, d, c, u.ID)
		c.Advance(5 * totp.Period)
		code := mfaOathtool(t, secret, c.Now().Add(time.Duration(tc.steps)*totp.Period))
		err := d.VerifyTOTP(ctx, u.ID, code, "192.0.2.9", "web")
		if (err == nil) != tc.ok {
			t.Errorf("skew %+d steps: err = %v, want ok=%v", tc.steps, err, tc.ok)
		}
	}
	// A code of the current step after one of the next step: the step
	// counter only moves forward.
	must(t, d.VerifyTOTP(ctx, u.ID, mfaOathtool(t, secret, c.Now().Add(totp.Period)), "192.0.2.9", "web"))
	if err := d.VerifyTOTP(ctx, u.ID, mfaOathtool(t, secret, c.Now()), "192.0.2.9", "web"); !errors.Is(err, directory.ErrBadCode) {
		t.Fatalf("an earlier step after a later one: %v", err)
	}
}

func TestWrongCodesThrottleAndAudit(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d, u := mfaTestDir(t, c, directory.MFAPolicy{})
	secret, _ := mfaEnroll(t, d, c, u.ID)
	c.Advance(totp.Period)
	good := mfaOathtool(t, secret, c.Now())
	wrong := "000000"
	if wrong == good {
		wrong = "111111"
	}
	var throttled *directory.ThrottledError
	for i := 0; ; i++ {
		err := d.VerifyTOTP(ctx, u.ID, wrong, "198.51.100.7", "web")
		if errors.As(err, &throttled) {
			break
		}
		if !errors.Is(err, directory.ErrBadCode) {
			t.Fatalf("attempt %d: %v", i, err)
		}
		if i > 10 {
			t.Fatal("wrong codes never throttled")
		}
	}
	// The right code is refused too while throttled: guessing gains nothing.
	if err := d.VerifyTOTP(ctx, u.ID, good, "198.51.100.7", "web"); !errors.As(err, &throttled) {
		t.Fatalf("right code while throttled: %v", err)
	}
	c.Advance(time.Minute)
	// Wrong passwords and codes at some accounts block only those accounts
	// at that address, never the address as a whole.
	for range 3 {
		if _, err := d.Authenticate(ctx, directory.Login{Name: "nobody", Password: "wrong-password", Remote: "192.0.2.200"}); !errors.Is(err, directory.ErrBadCredentials) {
			t.Fatal(err)
		}
		if err := d.VerifyTOTP(ctx, u.ID, wrong, "192.0.2.200", "web"); !errors.Is(err, directory.ErrBadCode) {
			t.Fatal(err)
		}
	}
	if err := d.AllowAttempt("192.0.2.200", "anything"); err != nil {
		t.Fatalf("3 wrong passwords and 3 wrong codes blocked the whole address: %v", err)
	}
	if _, err := d.UseRecoveryCode(ctx, u.ID, "aaaaa-aaaaa", "203.0.113.5", "web"); !errors.Is(err, directory.ErrBadCode) {
		t.Fatalf("wrong recovery code: %v", err)
	}
	must(t, d.VerifyTOTP(ctx, u.ID, mfaOathtool(t, secret, c.Now()), "198.51.100.7", "web"))

	events, err := d.AuditEvents(ctx, directory.AuditQuery{Subject: "alice", Kind: "mfa"})
	must(t, err)
	count := map[string]int{}
	for _, e := range events {
		count[e.Result+"/"+e.Detail]++
	}
	if count["bad-code/totp"] < 8 || count["throttled/totp"] != 2 || count["ok/totp"] != 1 || count["bad-code/recovery"] != 1 || count["enrolled/totp:Phone"] != 1 {
		t.Fatalf("audit = %v", count)
	}
}

func TestRecoveryCodes(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d, u := mfaTestDir(t, c, directory.MFAPolicy{})
	codes, err := d.NewRecoveryCodes(ctx, u.ID)
	must(t, err)
	if len(codes) != 10 {
		t.Fatalf("%d codes", len(codes))
	}
	seen := map[string]bool{}
	for _, code := range codes {
		if len(code) != 11 || code[5] != '-' || seen[code] {
			t.Fatalf("code %q", code)
		}
		seen[code] = true
	}
	left, err := d.UseRecoveryCode(ctx, u.ID, " "+strings.ToUpper(strings.ReplaceAll(codes[3], "-", " "))+" ", "192.0.2.1", "web")
	if err != nil || left != 9 {
		t.Fatalf("use = %d, %v", left, err)
	}
	if _, err := d.UseRecoveryCode(ctx, u.ID, codes[3], "192.0.2.1", "web"); !errors.Is(err, directory.ErrBadCode) {
		t.Fatalf("a spent code was accepted again: %v", err)
	}
	fresh, err := d.NewRecoveryCodes(ctx, u.ID)
	must(t, err)
	if _, err := d.UseRecoveryCode(ctx, u.ID, codes[0], "192.0.2.1", "web"); !errors.Is(err, directory.ErrBadCode) {
		t.Fatalf("a code of the replaced set was accepted: %v", err)
	}
	if _, err := d.UseRecoveryCode(ctx, u.ID, fresh[0], "192.0.2.1", "web"); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.RecoveryCodesLeft(ctx, u.ID); n != 9 {
		t.Fatalf("left = %d", n)
	}
}

func TestFactorSecretsAndRemoval(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d, u := mfaTestDir(t, c, directory.MFAPolicy{})
	if _, err := d.AddFactor(ctx, u.ID, directory.Factor{Kind: directory.FactorTOTP, Name: "x"}, nil); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("TOTP through AddFactor: %v", err)
	}
	if _, err := d.AddFactor(ctx, u.ID, directory.Factor{Kind: directory.FactorPasskey, Name: ""}, nil); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("empty name: %v", err)
	}
	if _, err := d.AddFactor(ctx, "no-such-user", directory.Factor{Kind: directory.FactorPasskey, Name: "Key"}, nil); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("unknown user: %v", err)
	}
	pk, err := d.AddFactor(ctx, u.ID, directory.Factor{Kind: directory.FactorPasskey, Name: "YubiKey"}, []byte("counter=1"))
	must(t, err)
	c.Advance(time.Second)
	must(t, d.UpdateFactorSecret(ctx, u.ID, pk.ID, func(old []byte) ([]byte, error) {
		if string(old) != "counter=1" {
			t.Errorf("old secret %q", old)
		}
		return []byte("counter=2"), nil
	}))
	refuse := errors.New("refused")
	if err := d.UpdateFactorSecret(ctx, u.ID, pk.ID, func([]byte) ([]byte, error) { return nil, refuse }); !errors.Is(err, refuse) {
		t.Fatalf("refusing update: %v", err)
	}
	if s, err := d.FactorSecret(ctx, u.ID, pk.ID); err != nil || string(s) != "counter=2" {
		t.Fatalf("secret = %q, %v", s, err)
	}
	if _, err := d.FactorSecret(ctx, u.ID, "nope"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("missing factor: %v", err)
	}
	c.Advance(time.Second)
	must(t, d.UpdateFactorSecret(ctx, u.ID, pk.ID, func(s []byte) ([]byte, error) { return s, nil }))
	fs, _ := d.Factors(ctx, u.ID)
	if len(fs) != 1 || !fs[0].LastUsed.Equal(c.Now()) {
		t.Fatalf("factors = %+v", fs)
	}
	_, err = d.NewRecoveryCodes(ctx, u.ID)
	must(t, err)
	must(t, d.RemoveFactor(ctx, u.ID, pk.ID))
	if n, _ := d.RecoveryCodesLeft(ctx, u.ID); n != 0 {
		t.Fatalf("recovery codes outlived the last factor: %d", n)
	}
	if err := d.RemoveFactor(ctx, u.ID, pk.ID); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("removed twice: %v", err)
	}
}

func TestLastFactorKeptWhenRequired(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d, u := mfaTestDir(t, c, directory.MFAPolicy{Groups: []string{"admins"}})
	// Nested: alice is in ops, ops is in admins.
	_, err := d.CreateGroup(ctx, directory.Group{CN: "admins"})
	must(t, err)
	_, err = d.CreateGroup(ctx, directory.Group{CN: "ops"})
	must(t, err)
	_, err = d.ChangeMembers(ctx, "admins", []directory.MemberRef{directory.ParseMemberRef("group:ops")}, nil)
	must(t, err)
	if req, err := d.MFARequired(ctx, u.ID); err != nil || req {
		t.Fatalf("required before joining: %v %v", req, err)
	}
	_, err = d.ChangeMembers(ctx, "ops", []directory.MemberRef{directory.ParseMemberRef("alice")}, nil)
	must(t, err)
	if req, err := d.MFARequired(ctx, u.ID); err != nil || !req {
		t.Fatalf("required through nesting: %v %v", req, err)
	}
	_, totpFactor := mfaEnroll(t, d, c, u.ID)
	pk, err := d.AddFactor(ctx, u.ID, directory.Factor{Kind: directory.FactorPasskey, Name: "Key"}, nil)
	must(t, err)
	must(t, d.RemoveFactor(ctx, u.ID, pk.ID))
	if err := d.RemoveFactor(ctx, u.ID, totpFactor.ID); !errors.Is(err, directory.ErrLastFactor) {
		t.Fatalf("last factor: %v", err)
	}
	// An administrator's reset still removes it; the user enrolls again.
	must(t, d.ResetMFA(ctx, u.ID))
	if fs, _ := d.Factors(ctx, u.ID); len(fs) != 0 {
		t.Fatalf("factors after reset: %+v", fs)
	}
	events, err := d.AuditEvents(ctx, directory.AuditQuery{Subject: "alice", Kind: "mfa"})
	must(t, err)
	last := events[len(events)-1]
	if last.Result != directory.ResultReset || last.Service != "cli" {
		t.Fatalf("last audit event = %+v", last)
	}

	all, _ := mfaTestDir(t, c, directory.MFAPolicy{All: true})
	users, _ := all.ListUsers(ctx)
	if req, _ := all.MFARequired(ctx, users[0].ID); !req {
		t.Fatal("MFA for everyone not required")
	}
}

// A push suspension ("this wasn't me") stays until resumed, and an MFA
// reset lifts it in the same transaction as the factors, audited.
func TestPushSuspension(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d, u := mfaTestDir(t, c, directory.MFAPolicy{})
	suspended := func() bool {
		t.Helper()
		s, err := d.PushSuspended(ctx, u.ID)
		must(t, err)
		return s
	}
	if suspended() {
		t.Fatal("suspended from the start")
	}
	must(t, d.SuspendPush(ctx, u.ID))
	if !suspended() {
		t.Fatal("SuspendPush did not suspend")
	}
	if was, err := d.ResumePush(ctx, u.ID); err != nil || !was || suspended() {
		t.Fatalf("ResumePush: %v, %v; suspended %v", was, err, suspended())
	}
	if was, err := d.ResumePush(ctx, u.ID); err != nil || was {
		t.Fatalf("ResumePush when not suspended: %v, %v", was, err)
	}
	if err := d.SuspendPush(ctx, "no-such-user"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("SuspendPush of an unknown user: %v", err)
	}

	mfaEnroll(t, d, c, u.ID)
	must(t, d.SuspendPush(ctx, u.ID))
	must(t, d.ResetMFA(ctx, u.ID))
	if suspended() {
		t.Fatal("still suspended after ResetMFA")
	}
	events, err := d.AuditEvents(ctx, directory.AuditQuery{Subject: "alice", Kind: "mfa"})
	must(t, err)
	if last := events[len(events)-1]; last.Result != directory.ResultReset || !strings.Contains(last.Detail, "push approvals no longer suspended") {
		t.Fatalf("last audit event = %+v", last)
	}
}

func TestDeleteUserRemovesFactors(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d, u := mfaTestDir(t, c, directory.MFAPolicy{})
	mfaEnroll(t, d, c, u.ID)
	_, err := d.NewRecoveryCodes(ctx, u.ID)
	must(t, err)
	must(t, d.DeleteUser(ctx, "alice"))
	// A new user with the same uid starts with nothing.
	again, err := d.CreateUser(ctx, directory.User{UID: "alice"})
	must(t, err)
	if fs, _ := d.Factors(ctx, again.ID); len(fs) != 0 {
		t.Fatal("factors survived")
	}
	// And nothing is left under the old ID either.
	if _, err := d.FactorSecret(ctx, u.ID, "x"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatal(err)
	}
	if n, _ := d.RecoveryCodesLeft(ctx, u.ID); n != 0 {
		t.Fatalf("recovery codes of a deleted user: %d", n)
	}
}

func TestLDAPAppPasswordOnly(t *testing.T) {
	ctx := context.Background()
	d, u := mfaTestDir(t, newClock(), directory.MFAPolicy{LDAPAppPasswordOnly: []string{"devices-only"}})
	must(t, d.SetPassword(ctx, "alice", "alice-password"))
	app, err := d.AddAppPassword(ctx, "alice", "nas")
	must(t, err)
	ldapLogin := func(pw string) directory.Login {
		return directory.Login{Name: "alice", Password: pw, Remote: "192.0.2.1", Service: "ldap", AppPasswords: true}
	}
	if _, err := d.Authenticate(ctx, ldapLogin("alice-password")); err != nil {
		t.Fatalf("before joining the group: %v", err)
	}
	_, err = d.CreateGroup(ctx, directory.Group{CN: "devices-only", Users: []string{u.ID}})
	must(t, err)
	if _, err := d.Authenticate(ctx, ldapLogin("alice-password")); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("account password over LDAP: %v", err)
	}
	if p, err := d.Authenticate(ctx, ldapLogin(app)); err != nil || p.Method != "app-password:nas" {
		t.Fatalf("app password over LDAP: %+v %v", p, err)
	}
	if _, err := d.Authenticate(ctx, directory.Login{Name: "alice", Password: "alice-password", Remote: "192.0.2.1", Service: "web"}); err != nil {
		t.Fatalf("account password on the web: %v", err)
	}
	events, _ := d.AuditEvents(ctx, directory.AuditQuery{Subject: "alice", Kind: "login"})
	if !strings.Contains(auditResults(events), directory.ResultAppPasswordOnly) {
		t.Fatalf("audit = %s", auditResults(events))
	}
}

func auditResults(events []directory.AuditEvent) string {
	var out []string
	for _, e := range events {
		out = append(out, e.Result)
	}
	return strings.Join(out, ",")
}

// BenchmarkVerifyTOTP is one second-factor check as a login makes it: the
// backoff check, unsealing the seed, three candidate steps and the update
// transaction that spends the step (a wrong code here, so every iteration
// does the whole walk; addresses vary so backoff never blocks).
func BenchmarkVerifyTOTP(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s, err := boltstore.Open(filepath.Join(dir, "atrium.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams, SecretKey: bytes.Repeat([]byte{1}, 32),
		Backoff: directory.BackoffConfig{AccountFailures: 1 << 30}})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close()
	u, _ := d.CreateUser(ctx, directory.User{UID: "bench"})
	secret, _ := d.BeginTOTP(ctx, u.ID)
	code, _ := totp.CodeAt(secret, totp.Step(time.Now()))
	if _, err := d.ConfirmTOTP(ctx, u.ID, "Phone", code, "192.0.2.1"); err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		if err := d.VerifyTOTP(ctx, u.ID, "999999", fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), "bench"); !errors.Is(err, directory.ErrBadCode) && err != nil {
			b.Fatal(err)
		}
	}
}

// Guessing codes from many addresses, with the password known, locks the
// second factor after a few failures, longer at each lock; a correct
// password does not reset that count.
func TestSecondFactorLockFromManyAddresses(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	d, u := mfaTestDir(t, c, directory.MFAPolicy{})
	must(t, d.SetPassword(ctx, "alice", "alice-password"))
	mfaEnroll(t, d, c, u.ID)
	addr := 0
	guess := func() error {
		addr++
		return d.VerifyTOTP(ctx, u.ID, "000000", fmt.Sprintf("198.51.100.%d", addr), "web")
	}
	lockedAfter := func() int {
		t.Helper()
		for n := 1; n <= 25; n++ {
			if err := guess(); errors.Is(err, directory.ErrThrottled) {
				return n - 1
			}
			if n%2 == 0 {
				// The attacker has the password; signing in with it clears
				// only the password's count.
				_, err := d.Authenticate(ctx, directory.Login{Name: "alice", Password: "alice-password", Remote: "203.0.113.1", Service: "web"})
				must(t, err)
			}
		}
		t.Fatal("never locked")
		return 0
	}
	if n := lockedAfter(); n != 5 {
		t.Fatalf("locked after %d wrong codes, want 5", n)
	}
	for _, lock := range []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute} {
		c.Advance(lock - time.Second)
		if err := guess(); !errors.Is(err, directory.ErrThrottled) {
			t.Fatalf("a second before the end of a %s lock: %v", lock, err)
		}
		c.Advance(time.Second)
		if n := lockedAfter(); n != 5 {
			t.Fatalf("after a %s lock, locked again after %d wrong codes, want 5", lock, n)
		}
	}
}

func TestMissingPolicyGroupIsLogged(t *testing.T) {
	var logs bytes.Buffer
	newTestDir(t, nil, directory.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), MFA: directory.MFAPolicy{Groups: []string{"admnis"}}})
	if !strings.Contains(logs.String(), "group=admnis") {
		t.Fatalf("no warning about the missing group:\n%s", logs.String())
	}
}
