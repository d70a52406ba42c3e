package passkey

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/atrium-dir/atrium/directory"
)

// ceremonyTTL is how long a begun ceremony may take; the browser is told the
// same.
const ceremonyTTL = 5 * time.Minute

const kindCeremony = "passkey"

// ErrCeremony refuses a ceremony that expired, was used, or was begun for
// another user, session, flow or purpose.
var ErrCeremony = errors.New("this passkey request has expired; try again")

// ErrRefused is an assertion or attestation that did not verify.
var ErrRefused = errors.New("the passkey was not accepted")

type purpose string

const (
	purposeRegister purpose = "register"
	purposeLogin    purpose = "login"
	purposeConfirm  purpose = "confirm"
)

// ceremony is the server's half of one WebAuthn ceremony, kept in directory
// state between begin and finish.
type ceremony struct {
	Purpose purpose `json:"purpose"`
	UserID  string  `json:"user"`
	// Binding ties the ceremony to what began it: the sign-in session, the
	// sign-in flow, or a push transaction and number.
	Binding string               `json:"binding"`
	Session webauthn.SessionData `json:"session"`
	// Nonce, when set, derived the challenge together with the binding
	// (confirmChallenge), so the signed challenge commits to the binding.
	Nonce []byte `json:"nonce,omitempty"`
}

// Challenge is what the browser needs for one ceremony: the id to send
// back, and the options for navigator.credentials.create or .get.
type Challenge struct {
	Ceremony string `json:"ceremony"`
	Options  any    `json:"options"`
}

func (p *Passkeys) putCeremony(ctx context.Context, c ceremony) (string, error) {
	id := randomID()
	if err := p.dir.PutState(ctx, kindCeremony, id, c, p.now().Add(ceremonyTTL)); err != nil {
		return "", fmt.Errorf("store passkey ceremony: %w", err)
	}
	return id, nil
}

// takeCeremony consumes ceremony id. Whatever the outcome the id cannot be
// used again, so a refused attempt costs the browser a new begin.
func (p *Passkeys) takeCeremony(ctx context.Context, id string, want purpose, userID, binding string) (ceremony, error) {
	var c ceremony
	if id == "" || len(id) > 64 {
		return c, ErrCeremony
	}
	if err := p.dir.TakeState(ctx, kindCeremony, id, &c); err != nil {
		if errors.Is(err, directory.ErrNotFound) {
			return c, ErrCeremony
		}
		return c, fmt.Errorf("take passkey ceremony: %w", err)
	}
	if c.Purpose != want || c.UserID != userID || subtle.ConstantTimeCompare([]byte(c.Binding), []byte(binding)) != 1 {
		return c, ErrCeremony
	}
	if c.Nonce != nil && c.Session.Challenge != base64.RawURLEncoding.EncodeToString(confirmChallenge(c.Nonce, binding)) {
		return c, ErrCeremony
	}
	return c, nil
}

// BeginRegistration starts adding a passkey for the user with entryUUID
// userID, bound to binding (the sign-in session's id, or the sign-in flow's
// for a first passkey enrolled while signing in). The user's existing
// passkeys are excluded so one authenticator is not registered twice.
func (p *Passkeys) BeginRegistration(ctx context.Context, userID, binding string) (Challenge, error) {
	u, err := p.loadUser(ctx, userID)
	if err != nil {
		return Challenge{}, err
	}
	creation, session, err := p.wa.BeginRegistration(u,
		webauthn.WithExclusions(webauthn.Credentials(u.WebAuthnCredentials()).CredentialDescriptors()),
	)
	if err != nil {
		return Challenge{}, fmt.Errorf("begin passkey registration for %s: %w", u.u.UID, err)
	}
	id, err := p.putCeremony(ctx, ceremony{Purpose: purposeRegister, UserID: userID, Binding: binding, Session: *session})
	if err != nil {
		return Challenge{}, err
	}
	return Challenge{Ceremony: id, Options: creation}, nil
}

// FinishRegistration verifies the browser's attestation response for
// ceremony id and stores the new credential as a passkey factor named
// name. The ceremony must have been begun for the same user and binding.
func (p *Passkeys) FinishRegistration(ctx context.Context, userID, binding, id, name string, response []byte) (directory.Factor, error) {
	name, err := checkName(name)
	if err != nil {
		return directory.Factor{}, err
	}
	c, err := p.takeCeremony(ctx, id, purposeRegister, userID, binding)
	if err != nil {
		return directory.Factor{}, err
	}
	u, err := p.loadUser(ctx, userID)
	if err != nil {
		return directory.Factor{}, err
	}
	cred, err := p.verifyAttestation(u, c.Session, response)
	if err != nil {
		return directory.Factor{}, p.refused(u, err)
	}
	secret, err := json.Marshal(cred)
	if err != nil {
		return directory.Factor{}, fmt.Errorf("encode passkey: %w", err)
	}
	f, err := p.dir.AddFactor(ctx, userID, directory.Factor{Kind: directory.FactorPasskey, Name: name}, secret)
	if err != nil {
		return directory.Factor{}, fmt.Errorf("add passkey for %s: %w", u.u.UID, err)
	}
	p.log.Info("passkey registered", "user", u.u.UID, "factor", f.ID, "name", f.Name)
	return f, nil
}

// beginLogin starts an assertion for the user's passkeys. A nonce makes
// the challenge confirmChallenge(nonce, binding) instead of a random one.
func (p *Passkeys) beginLogin(ctx context.Context, pur purpose, userID, binding string, uv protocol.UserVerificationRequirement, nonce []byte) (Challenge, error) {
	u, err := p.loadUser(ctx, userID)
	if err != nil {
		return Challenge{}, err
	}
	if len(u.keys) == 0 {
		return Challenge{}, ErrNoPasskey
	}
	opts := []webauthn.LoginOption{webauthn.WithUserVerification(uv)}
	if nonce != nil {
		opts = append(opts, webauthn.WithChallenge(confirmChallenge(nonce, binding)))
	}
	assertion, session, err := p.wa.BeginLogin(u, opts...)
	if err != nil {
		return Challenge{}, fmt.Errorf("begin passkey sign-in for %s: %w", u.u.UID, err)
	}
	id, err := p.putCeremony(ctx, ceremony{Purpose: pur, UserID: userID, Binding: binding, Session: *session, Nonce: nonce})
	if err != nil {
		return Challenge{}, err
	}
	return Challenge{Ceremony: id, Options: assertion}, nil
}

// verifyAttestation checks a registration response against the ceremony's
// session for u and returns the new credential. Any failure, whatever the
// input, is an error (the library's detail, for the log).
func (p *Passkeys) verifyAttestation(u *user, s webauthn.SessionData, response []byte) (*webauthn.Credential, error) {
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return nil, fmt.Errorf("parse attestation: %w", err)
	}
	cred, err := p.wa.CreateCredential(u, s, parsed)
	if err != nil {
		return nil, fmt.Errorf("verify attestation: %w", err)
	}
	if _, dup := u.keyFor(cred.ID); dup {
		return nil, errors.New("credential already registered")
	}
	return cred, nil
}

// verifyAssertion checks a sign-in response against the ceremony's session
// for u and returns the passkey that signed, the credential as verified and
// the signature counter it sent.
func (p *Passkeys) verifyAssertion(u *user, s webauthn.SessionData, response []byte) (key, *webauthn.Credential, uint32, error) {
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return key{}, nil, 0, fmt.Errorf("parse assertion: %w", err)
	}
	k, ok := u.keyFor(parsed.RawID)
	if !ok {
		return key{}, nil, 0, errors.New("unknown credential")
	}
	verified, err := p.wa.ValidateLogin(u, s, parsed)
	if err != nil {
		return key{}, nil, 0, fmt.Errorf("verify assertion: %w", err)
	}
	return k, verified, parsed.Response.AuthenticatorData.Counter, nil
}

// Attempt says where a sign-in comes from, for the backoff and the audit
// log.
type Attempt struct {
	Remote  string // client address
	Service string // "web", "saml:<app>", "push"
}

// Audit results of passkey sign-ins (AuditEvent.Kind "mfa", Detail
// "passkey" or "passkey:<name>").
const (
	resultBadPasskey = "bad-passkey"
	resultCloned     = "cloned-passkey"
)

// backoffPrefix + user ID is the account the directory counts failed
// second factors under, shared with TOTP and recovery codes.
const backoffPrefix = "mfa:"

// finishLogin verifies the assertion response for ceremony id, records the
// use of the passkey and returns its factor. A response that does not
// verify counts in the same backoff as a wrong code; every verification is
// audited.
func (p *Passkeys) finishLogin(ctx context.Context, pur purpose, userID, binding, id string, response []byte, at Attempt) (directory.Factor, error) {
	c, err := p.takeCeremony(ctx, id, pur, userID, binding)
	if err != nil {
		return directory.Factor{}, err
	}
	u, err := p.loadUser(ctx, userID)
	if err != nil {
		return directory.Factor{}, err
	}
	subject := backoffPrefix + userID
	audit := func(result, detail string) {
		p.dir.Audit(directory.AuditEvent{Kind: "mfa", Subject: u.u.UID, Remote: at.Remote, Service: at.Service, Result: result, Detail: detail})
	}
	if err := p.dir.AllowAttempt(at.Remote, subject); err != nil {
		audit(directory.ResultThrottled, "passkey")
		return directory.Factor{}, err
	}
	k, verified, counter, err := p.verifyAssertion(u, c.Session, response)
	if err != nil {
		p.dir.RecordAttempt(at.Remote, subject, false)
		audit(resultBadPasskey, "passkey")
		return directory.Factor{}, p.refused(u, err)
	}
	if err := p.recordUse(ctx, u, k, verified, counter); err != nil {
		if errors.Is(err, ErrCloned) {
			p.dir.RecordAttempt(at.Remote, subject, false)
			audit(resultCloned, "passkey:"+k.factor.Name)
		}
		return directory.Factor{}, err
	}
	p.dir.RecordAttempt(at.Remote, subject, true)
	audit(directory.ResultOK, "passkey:"+k.factor.Name)
	return k.factor, nil
}

// refused logs why a browser's response failed and returns ErrRefused: the
// library's detail is for the log, not the user.
func (p *Passkeys) refused(u *user, err error) error {
	var perr *protocol.Error
	detail := err.Error()
	if errors.As(err, &perr) && perr.DevInfo != "" {
		detail += ": " + perr.DevInfo
	}
	p.log.Info("passkey refused", "user", u.u.UID, "err", detail)
	return ErrRefused
}

func randomID() string { return base64.RawURLEncoding.EncodeToString(randomBytes(24)) }

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
