package passkey

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/atrium-dir/atrium/directory"
)

// ErrUnavailable means the external URL cannot carry passkeys: browsers
// offer WebAuthn only in a secure context (https, or http on localhost) and
// only for a host name, never an IP address.
var ErrUnavailable = errors.New("passkeys need an https external URL with a host name (or http://localhost)")

// Passkeys runs WebAuthn ceremonies for the users of one directory. Build
// it with New.
type Passkeys struct {
	dir *directory.Directory
	wa  *webauthn.WebAuthn
	now func() time.Time
	log *slog.Logger
}

// Options holds the passkeys' clock and logger; zero values take defaults.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
}

// New returns the relying party for external, the URL users reach Atrium
// at: its host (without port) is the RP ID and its origin the only origin
// accepted. New wraps ErrUnavailable when browsers would refuse WebAuthn
// on external.
func New(dir *directory.Directory, external *url.URL, opts Options) (*Passkeys, error) {
	now, log := opts.Now, opts.Logger
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host := external.Hostname()
	secure := external.Scheme == "https" || (external.Scheme == "http" && isLocalhost(host))
	if !secure || host == "" || net.ParseIP(host) != nil {
		return nil, fmt.Errorf("%s: %w", external.Redacted(), ErrUnavailable)
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          host,
		RPDisplayName: "Atrium",
		RPOrigins:     []string{external.Scheme + "://" + external.Host},
		// Attestation is not checked: Atrium trusts whichever authenticator
		// its signed-in user chooses, so asking for it would only leak the
		// device model.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
			Registration: webauthn.TimeoutConfig{Timeout: ceremonyTTL, TimeoutUVD: ceremonyTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn relying party %s: %w", host, err)
	}
	return &Passkeys{dir: dir, wa: wa, now: now, log: log}, nil
}

func isLocalhost(host string) bool {
	host = strings.ToLower(host)
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// RPID is the relying party id credentials are scoped to.
func (p *Passkeys) RPID() string { return p.wa.Config.RPID }

// user adapts a directory user and its passkeys to webauthn.User.
type user struct {
	u      directory.User
	handle []byte
	keys   []key
}

// key is one stored passkey: the factor and the credential it seals.
type key struct {
	factor directory.Factor
	cred   webauthn.Credential
}

var _ webauthn.User = (*user)(nil)

// userHandle is the WebAuthn user handle of u: the 16 bytes of its
// entryUUID, which is random, never changes and says nothing about the
// person.
func userHandle(u directory.User) ([]byte, error) {
	id, err := uuid.Parse(u.ID)
	if err != nil {
		return nil, fmt.Errorf("user handle of %s: %w", u.UID, err)
	}
	return id[:], nil
}

func (u *user) WebAuthnID() []byte          { return u.handle }
func (u *user) WebAuthnName() string        { return u.u.UID }
func (u *user) WebAuthnDisplayName() string { return u.u.CommonName() }

func (u *user) WebAuthnCredentials() []webauthn.Credential {
	creds := make([]webauthn.Credential, len(u.keys))
	for i, k := range u.keys {
		creds[i] = k.cred
	}
	return creds
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
