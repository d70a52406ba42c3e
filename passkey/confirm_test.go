package passkey

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
)

func TestConfirmerBindsTheTransactionAndNumber(t *testing.T) {
	e := newPKEnv(t)
	alice := e.user(t, "alice", "Alice")
	bob := e.user(t, "bob", "Bob")
	k, _ := e.register(t, alice, "Phone")
	e.register(t, bob, "Phone")
	c := e.keys
	// Push's bindings name the transaction and the number picked.
	bind := func(tx string, number int) string { return fmt.Sprintf("%s/%d", tx, number) }
	binding := bind("tx-1", 42)

	begin := func(userID, binding string) (Challenge, []byte) {
		t.Helper()
		ceremony, options, err := c.BeginConfirm(e.ctx, userID, binding)
		if err != nil {
			t.Fatal(err)
		}
		opts := options.(*protocol.CredentialAssertion).Response
		if opts.UserVerification != protocol.VerificationRequired {
			t.Errorf("user verification %q, want required", opts.UserVerification)
		}
		return Challenge{Ceremony: ceremony, Options: options}, opts.Challenge
	}

	// The challenge the phone signs commits to the binding.
	ch, challenge := begin(alice.ID, binding)
	var stored ceremony
	if err := e.dir.State(e.ctx, kindCeremony, ch.Ceremony, &stored); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(challenge, confirmChallenge(stored.Nonce, binding)) || len(stored.Nonce) != 32 {
		t.Errorf("challenge %x is not derived from the binding", challenge)
	}
	k.counter++
	if err := c.FinishConfirm(e.ctx, alice.ID, binding, ch.Ceremony, k.sign(challenge), "192.0.2.9"); err != nil {
		t.Fatalf("right number, verified user: %v", err)
	}
	if err := c.FinishConfirm(e.ctx, alice.ID, binding, ch.Ceremony, k.sign(challenge), "192.0.2.9"); !errors.Is(err, ErrCeremony) {
		t.Errorf("replayed confirmation: err = %v, want ErrCeremony", err)
	}

	for _, tc := range []struct {
		name     string
		finish   func(ch Challenge, challenge []byte) error
		want     error
		verified bool
	}{
		{"another number", func(ch Challenge, challenge []byte) error {
			return c.FinishConfirm(e.ctx, alice.ID, bind("tx-1", 43), ch.Ceremony, k.sign(challenge), "")
		}, ErrCeremony, true},
		{"another transaction", func(ch Challenge, challenge []byte) error {
			return c.FinishConfirm(e.ctx, alice.ID, bind("tx-2", 42), ch.Ceremony, k.sign(challenge), "")
		}, ErrCeremony, true},
		{"another user", func(ch Challenge, challenge []byte) error {
			return c.FinishConfirm(e.ctx, bob.ID, binding, ch.Ceremony, k.sign(challenge), "")
		}, ErrCeremony, true},
		{"presence only", func(ch Challenge, challenge []byte) error {
			return c.FinishConfirm(e.ctx, alice.ID, binding, ch.Ceremony, k.sign(challenge), "")
		}, ErrRefused, false},
		{"signed for another challenge", func(ch Challenge, challenge []byte) error {
			return c.FinishConfirm(e.ctx, alice.ID, binding, ch.Ceremony, k.sign(confirmChallenge([]byte("guess"), binding)), "")
		}, ErrRefused, true},
		// A sign-in ceremony of the login flow cannot confirm a push.
		{"sign-in ceremony", func(_ Challenge, _ []byte) error {
			login, err := e.keys.beginLogin(e.ctx, purposeLogin, alice.ID, binding, protocol.VerificationRequired, nil)
			if err != nil {
				return err
			}
			return c.FinishConfirm(e.ctx, alice.ID, binding, login.Ceremony, k.get(login), "")
		}, ErrCeremony, true},
	} {
		ch, challenge := begin(alice.ID, binding)
		k.counter++
		k.verified = tc.verified
		if err := tc.finish(ch, challenge); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}

	// A user without a passkey cannot approve at all.
	carol := e.user(t, "carol", "Carol")
	if _, _, err := c.BeginConfirm(e.ctx, carol.ID, binding); !errors.Is(err, ErrNoPasskey) {
		t.Errorf("no passkey: err = %v, want ErrNoPasskey", err)
	}
}

// Push asks first whether the user has a passkey at all, to explain on
// the approval page how to add one.
func TestHasPasskey(t *testing.T) {
	e := newPKEnv(t)
	alice := e.user(t, "alice", "Alice")
	if has, err := e.keys.HasPasskey(e.ctx, alice.ID); err != nil || has {
		t.Errorf("before registering: %v, %v", has, err)
	}
	e.register(t, alice, "Phone")
	if has, err := e.keys.HasPasskey(e.ctx, alice.ID); err != nil || !has {
		t.Errorf("after registering: %v, %v", has, err)
	}
}
