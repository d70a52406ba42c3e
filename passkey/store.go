package passkey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/atrium-dir/atrium/directory"
)

// Errors a caller may show or map to a status.
var (
	// ErrName is a passkey name that is empty, too long or unprintable.
	ErrName = errors.New("name the passkey with 1 to 64 printable characters")
	// ErrNoPasskey means the user has no passkey to sign in with.
	ErrNoPasskey = errors.New("no passkey is registered for this account")
	// ErrCloned refuses a passkey whose signature counter went backwards: a
	// copy of its private key may be in use elsewhere.
	ErrCloned = errors.New("this passkey may have been copied; remove it and register it again")
)

// maxName bounds a passkey's label, in bytes as the factor store counts.
const maxName = 64

// checkName returns the trimmed name, or ErrName.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > maxName || !utf8.ValidString(name) {
		return "", ErrName
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return "", ErrName
		}
	}
	return name, nil
}

// loadUser returns the WebAuthn view of the user with entryUUID userID:
// its handle and every passkey it holds. Disabled users cannot use
// passkeys.
func (p *Passkeys) loadUser(ctx context.Context, userID string) (*user, error) {
	u, err := p.dir.UserByID(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("passkey user %s: %w", userID, err)
	}
	if u.Disabled {
		return nil, fmt.Errorf("passkey user %s: %w", u.UID, directory.ErrBadCredentials)
	}
	handle, err := userHandle(u)
	if err != nil {
		return nil, err
	}
	factors, err := p.dir.Factors(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("factors of %s: %w", u.UID, err)
	}
	out := &user{u: u, handle: handle}
	for _, f := range factors {
		if f.Kind != directory.FactorPasskey {
			continue
		}
		secret, err := p.dir.FactorSecret(ctx, userID, f.ID)
		if err != nil {
			return nil, fmt.Errorf("passkey %s of %s: %w", f.ID, u.UID, err)
		}
		var c webauthn.Credential
		if err := json.Unmarshal(secret, &c); err != nil {
			return nil, fmt.Errorf("decode passkey %s of %s: %w", f.ID, u.UID, err)
		}
		out.keys = append(out.keys, key{factor: f, cred: c})
	}
	return out, nil
}

// keyFor returns the user's passkey with credential id.
func (u *user) keyFor(id []byte) (key, bool) {
	for _, k := range u.keys {
		if bytes.Equal(k.cred.ID, id) {
			return k, true
		}
	}
	return key{}, false
}

// recordUse stores what a verified assertion taught about k: the
// authenticator's new signature counter and flags, and (through
// UpdateFactorSecret) the time of use. The counter is compared with the
// stored one inside the update's transaction, so two concurrent sign-ins
// with one counter value cannot both pass. A counter that did not advance
// marks the passkey as possibly cloned, for good, and refuses the sign-in
// with ErrCloned. A passkey removed meanwhile is refused with ErrRefused.
func (p *Passkeys) recordUse(ctx context.Context, u *user, k key, verified *webauthn.Credential, counter uint32) error {
	var cloned bool
	err := p.dir.UpdateFactorSecret(ctx, u.u.ID, k.factor.ID, func(secret []byte) ([]byte, error) {
		var stored webauthn.Credential
		if err := json.Unmarshal(secret, &stored); err != nil {
			return nil, fmt.Errorf("decode passkey %s: %w", k.factor.ID, err)
		}
		if !bytes.Equal(stored.ID, verified.ID) {
			return nil, fmt.Errorf("passkey %s changed during sign-in", k.factor.ID)
		}
		// UpdateCounter sets the warning on a counter that did not advance
		// and never clears it.
		stored.Authenticator.UpdateCounter(counter)
		cloned = stored.Authenticator.CloneWarning
		stored.Flags = verified.Flags
		return json.Marshal(stored)
	})
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("%w (passkey %s removed during sign-in)", ErrRefused, k.factor.ID)
	}
	if err != nil {
		return fmt.Errorf("record use of passkey %s: %w", k.factor.ID, err)
	}
	if cloned {
		p.log.Warn("passkey refused: signature counter did not advance", "user", u.u.UID, "factor", k.factor.ID, "counter", counter)
		return ErrCloned
	}
	return nil
}
