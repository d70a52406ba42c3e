package passkey

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/atrium-dir/atrium/push"
)

// Confirmer returns the passkey check of push approvals.
func (p *Passkeys) Confirmer() push.Confirmer { return confirmer{p} }

// confirmer confirms a push approval with a user-verified assertion whose
// challenge commits to the binding (the transaction and the number the
// user picked), so the authenticator's signature covers that choice.
type confirmer struct{ keys *Passkeys }

var _ push.Confirmer = confirmer{}

// confirmChallenge derives the challenge from a random nonce and the
// binding: unpredictable, and tied to the binding.
func confirmChallenge(nonce []byte, binding string) []byte {
	h := sha256.New()
	h.Write([]byte("atrium passkey confirm\x00"))
	h.Write(nonce)
	h.Write([]byte(binding))
	return h.Sum(nil)
}

func (c confirmer) BeginConfirm(ctx context.Context, userID, binding string) (push.ConfirmChallenge, error) {
	ch, err := c.keys.beginLogin(ctx, purposeConfirm, userID, binding, protocol.VerificationRequired, randomBytes(32))
	if errors.Is(err, ErrNoPasskey) {
		return push.ConfirmChallenge{}, fmt.Errorf("%w: %w", push.ErrNoPasskey, err)
	}
	if err != nil {
		return push.ConfirmChallenge{}, err
	}
	return push.ConfirmChallenge{Ceremony: ch.Ceremony, Options: ch.Options}, nil
}

func (c confirmer) FinishConfirm(ctx context.Context, userID, binding, ceremony string, assertion []byte, remote string) error {
	_, err := c.keys.finishLogin(ctx, purposeConfirm, userID, binding, ceremony, assertion, Attempt{Remote: remote, Service: "push"})
	if err != nil {
		return fmt.Errorf("confirm push approval: %w", err)
	}
	return nil
}
