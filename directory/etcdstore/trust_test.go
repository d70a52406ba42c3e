package etcdstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

// TestTrustFromSignInOnOtherNode: alice signs in on node A from her
// usual address. Guessers then lock her account through node B. On B the
// right password from her usual address still gets in, since B trusts
// the address from A's sign-in, while from a new address it is refused.
// Without A telling B of a success that cleared no failures, B would
// refuse her everywhere until the lock ends.
func TestTrustFromSignInOnOtherNode(t *testing.T) {
	ctx := context.Background()
	sa, sb := twoNodes(t)
	opts := directory.Options{PasswordParams: password.TestParams,
		Backoff: directory.BackoffConfig{AccountFailures: 3, AccountLock: time.Minute, AddressFreeFailures: 10}}
	a, err := directory.New(ctx, sa, opts)
	must(t, err)
	defer a.Close()
	b, err := directory.New(ctx, sb, opts)
	must(t, err)
	defer b.Close()
	alice, err := a.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	must(t, a.SetPassword(ctx, "alice", "alice password 1"))
	signIn := func(d *directory.Directory, addr, pw string) error {
		_, err := d.Authenticate(ctx, directory.Login{Name: "alice", Password: pw, Remote: addr, Service: "web"})
		return err
	}
	must(t, signIn(a, "10.0.0.9", "alice password 1"))
	// Wait until A's sign-in has reached B: its record is in B's copy.
	waitState(t, sb)

	for range 3 {
		if err := signIn(b, "10.0.0.1", "guess"); !errors.Is(err, directory.ErrBadCredentials) {
			t.Fatalf("a wrong password: %v", err)
		}
	}
	if err := b.AllowAttempt("10.0.0.3", alice.ID); err == nil {
		t.Fatal("B does not lock the account after 3 failures")
	}
	if err := signIn(b, "10.0.0.9", "alice password 1"); err != nil {
		t.Fatalf("alice on B from the address she signed in from on A: %v, want in", err)
	}
}

// waitState waits until s's copy holds a backoff record, and a little
// more for the change feed to hand it on.
func waitState(t *testing.T, s *Store) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		found := false
		must(t, s.View(context.Background(), func(tx directory.Tx) error {
			return tx.Scan("state", "backoff/", "", func(string, []byte) error { found = true; return nil })
		}))
		if found {
			time.Sleep(100 * time.Millisecond)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no backoff record reached the other node")
		}
	}
}
