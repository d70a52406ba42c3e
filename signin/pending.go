package signin

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// A flow whose user has not yet given a password is pending: nothing of it
// is written to the store, and it costs the server no memory. It travels
// in the login page's URL and form as a token, sealed with the directory's
// secrets key (AES-GCM, so the browser can neither read nor change it) and
// bound to the browser cookie as a stored flow is. Anyone on the internet
// may start a flow (an anonymous GET /login, an AuthnRequest from a
// registered app), so only a flow whose password was accepted is written
// to the store, under a fresh id (and its token marked used, so that it
// serves one sign-in); from then on it is the stored, single-use flow it
// always was. Every node holding the secrets key can
// read a pending flow, so it needs no shared table either.

// pendingPrefix starts a pending flow's token; stored ids, base64url, never
// contain a dot.
const pendingPrefix = "p."

// maxPendingToken bounds a pending flow's token, made or read back from a
// URL or form. A parked SAML request (ID and RelayState capped by samlidp)
// seals to about 2 KB.
const maxPendingToken = 16 << 10

const pendingPurpose = "signin-pending-flow"

// sealPending returns the token of f, a flow without a user yet.
func (e *Engine) sealPending(f Flow) (string, error) {
	raw, err := json.Marshal(f)
	if err != nil {
		return "", fmt.Errorf("encode pending flow: %w", err)
	}
	sealed, err := e.dir.Seal(raw, pendingPurpose)
	if err != nil {
		return "", fmt.Errorf("seal pending flow: %w", err)
	}
	token := pendingPrefix + base64.RawURLEncoding.EncodeToString(sealed)
	if len(token) > maxPendingToken {
		return "", fmt.Errorf("pending flow of %d bytes exceeds %d (a parked request too large)", len(token), maxPendingToken)
	}
	return token, nil
}

// openPending reads a pending flow's token; an expired, altered or foreign
// token is an error.
func (e *Engine) openPending(token string) (*Flow, error) {
	if len(token) > maxPendingToken {
		return nil, errors.New("pending flow token too long")
	}
	sealed, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(token, pendingPrefix))
	if err != nil {
		return nil, fmt.Errorf("decode pending flow: %w", err)
	}
	raw, err := e.dir.Unseal(sealed, pendingPurpose)
	if err != nil {
		return nil, err
	}
	var f Flow
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("decode pending flow: %w", err)
	}
	if f.UserID != "" || !e.now().Before(f.Created.Add(e.cfg.FlowTTL)) {
		return nil, errors.New("pending flow expired")
	}
	return &f, nil
}

// isPending reports whether id names a pending flow rather than a stored one.
func isPending(id string) bool { return strings.HasPrefix(id, pendingPrefix) }
