package passkey

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/atrium-dir/atrium/directory"
)

// The confirmation of a push approval: a user-verified assertion whose
// challenge commits to the binding (the transaction and the number the user
// picked), so the authenticator's signature covers that choice. These
// methods are what push's Confirmer asks for; cmd/atrium hands Passkeys to
// push, and neither package imports the other.

// confirmChallenge derives the challenge from a random nonce and the
// binding: unpredictable, and tied to the binding.
func confirmChallenge(nonce []byte, binding string) []byte {
	h := sha256.New()
	h.Write([]byte("atrium passkey confirm\x00"))
	h.Write(nonce)
	h.Write([]byte(binding))
	return h.Sum(nil)
}

// HasPasskey reports whether the user with entryUUID userID has a passkey.
func (p *Passkeys) HasPasskey(ctx context.Context, userID string) (bool, error) {
	factors, err := p.dir.Factors(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("factors of %s: %w", userID, err)
	}
	for _, f := range factors {
		if f.Kind == directory.FactorPasskey {
			return true, nil
		}
	}
	return false, nil
}

// BeginConfirm starts a user-verified assertion over the user's passkeys
// bound to binding, and returns the ceremony and the options for
// navigator.credentials.get. A user without a passkey gets ErrNoPasskey.
func (p *Passkeys) BeginConfirm(ctx context.Context, userID, binding string) (ceremony string, options any, err error) {
	ch, err := p.beginLogin(ctx, purposeConfirm, userID, binding, protocol.VerificationRequired, randomBytes(32))
	if err != nil {
		return "", nil, err
	}
	return ch.Ceremony, ch.Options, nil
}

// FinishConfirm verifies the assertion for a ceremony begun by
// BeginConfirm for the same user and binding.
func (p *Passkeys) FinishConfirm(ctx context.Context, userID, binding, ceremony string, assertion []byte, remote string) error {
	_, err := p.finishLogin(ctx, purposeConfirm, userID, binding, ceremony, assertion, Attempt{Remote: remote, Service: "push"})
	if err != nil {
		return fmt.Errorf("confirm push approval: %w", err)
	}
	return nil
}
