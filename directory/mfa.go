package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/atrium-dir/atrium/totp"
)

// Second factors. Each user has zero or more enrolled factors; a factor's
// kind-specific secret (a TOTP seed, a WebAuthn credential, a push
// subscription) is sealed with the secrets key beside its public record, and
// only the package that owns the kind reads it. Recovery codes are not a
// factor: they stand in for one when the user has lost it.
//
// Every failed check of a second factor counts in the same backoff as a
// failed password: per client address (shared with passwords) and per
// account. The account counter of second factors is kept apart from the
// password's, so that a correct password, which clears the password
// counter, does not also clear the count of wrong codes; and it is
// stricter, locking after BackoffConfig.AddressFreeFailures wrong codes
// from anywhere, for AccountLock doubled at each lock (at most
// AddressMaxBlock).

// secondFactorSubject prefixes a user ID in the backoff for second factors.
const secondFactorSubject = "mfa:"

// Factor kinds.
const (
	FactorTOTP    = "totp"
	FactorPasskey = "passkey"
	FactorPush    = "push"
)

// FactorKinds lists every kind, in the order a login page offers them.
var FactorKinds = []string{FactorPasskey, FactorPush, FactorTOTP}

// A Factor is one enrolled second factor, never with its secret.
type Factor struct {
	ID       string    `json:"id"`   // random, stable
	Kind     string    `json:"kind"` // FactorTOTP, FactorPasskey or FactorPush
	Name     string    `json:"name"` // the user's label ("Phone", "YubiKey")
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed,omitzero"`
}

// MFAPolicy is the administrator's rule for second factors. The zero value
// requires nothing.
type MFAPolicy struct {
	// All requires a second factor of every user at every interactive login.
	All bool
	// Groups requires it of members, direct or nested, of these groups (by
	// cn). A name that matches no group is ignored.
	Groups []string
	// LDAPAppPasswordOnly lists groups (by cn) whose members, direct or
	// nested, may bind over LDAP only with an app password, never with their
	// account password.
	LDAPAppPasswordOnly []string
}

// Errors of second factors.
var (
	// ErrLastFactor refuses to remove a user's last factor while MFA is
	// required of them.
	ErrLastFactor = errors.New("the last second factor cannot be removed while MFA is required")
	// ErrBadCode is a wrong, expired or replayed TOTP or recovery code.
	ErrBadCode = errors.New("invalid code")
)

// Audit results of second factors (AuditEvent.Kind "mfa").
const (
	ResultBadCode  = "bad-code"
	ResultEnrolled = "enrolled"
	ResultRemoved  = "removed"
	ResultReset    = "reset"
)

const (
	bFactors = "factors" // userID/factorID -> factorRecord
	bMFA     = "mfa"     // userID -> mfaRecord

	maxFactors      = 20
	pendingTOTPLife = 15 * time.Minute
	// RecoveryCodeCount is how many codes NewRecoveryCodes issues.
	RecoveryCodeCount = 10
)

type factorRecord struct {
	Factor
	Sealed []byte `json:"sealed,omitempty"`
	// Step is the last TOTP step accepted, so each code is accepted once.
	Step int64 `json:"step,omitempty"`
}

// mfaRecord holds what belongs to the user rather than to one factor.
type mfaRecord struct {
	PendingTOTP    []byte    `json:"pendingTOTP,omitempty"` // sealed
	PendingExpires time.Time `json:"pendingExpires,omitzero"`
	Recovery       []string  `json:"recovery,omitempty"` // SHA-256 hex of each unused code
	// PushSuspended is when the user answered a push approval with "this
	// wasn't me". It lives here, not in package push's state, so that
	// ResetMFA lifts it with everything else in one transaction.
	PushSuspended time.Time `json:"pushSuspended,omitzero"`
}

func factorKey(userID, factorID string) string { return userID + "/" + factorID }

func factorPurpose(userID, factorID string) string { return "factor:" + userID + "/" + factorID }

func pendingPurpose(userID string) string { return "totp-pending:" + userID }

func (r Reader) factorRecords(userID string) ([]factorRecord, error) {
	var out []factorRecord
	err := r.tx.Scan(bFactors, userID+"/", "", func(k string, raw []byte) error {
		var rec factorRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			return fmt.Errorf("decode %s/%s: %w", bFactors, k, err)
		}
		out = append(out, rec)
		return nil
	})
	return out, err
}

func (r Reader) mfa(userID string) (mfaRecord, error) {
	var m mfaRecord
	err := getJSON(r.tx, bMFA, userID, &m)
	if errors.Is(err, ErrNotFound) {
		return mfaRecord{}, nil
	}
	return m, err
}

// Factors lists the user's enrolled factors, oldest first. It fails with
// ErrNotFound for an unknown user.
func (d *Directory) Factors(ctx context.Context, userID string) ([]Factor, error) {
	if err := d.fresh(ctx); err != nil {
		return nil, err
	}
	return view(ctx, d, func(r Reader) ([]Factor, error) {
		if _, err := r.User(userID); err != nil {
			return nil, err
		}
		recs, err := r.factorRecords(userID)
		out := make([]Factor, 0, len(recs))
		for _, rec := range recs {
			out = append(out, rec.Factor)
		}
		slices.SortStableFunc(out, func(a, b Factor) int { return a.Created.Compare(b.Created) })
		return out, err
	})
}

func validFactorName(name string) bool {
	return name != "" && len(name) <= 64 && utf8.ValidString(name) && !strings.ContainsAny(name, "\r\n\t")
}

// AddFactor enrolls a passkey or push factor for the user, with its
// kind-specific secret sealed beside it (nil for none). The ID and creation
// time are assigned; f.Name must be 1 to 64 characters. TOTP factors are
// enrolled with BeginTOTP and ConfirmTOTP instead. The enrollment is
// audited. A user has at most 20 factors.
func (d *Directory) AddFactor(ctx context.Context, userID string, f Factor, secret []byte) (Factor, error) {
	if f.Kind != FactorPasskey && f.Kind != FactorPush {
		return Factor{}, fmt.Errorf("factor kind %q cannot be added directly: %w", f.Kind, ErrInvalid)
	}
	if !validFactorName(f.Name) {
		return Factor{}, fmt.Errorf("factor name: 1 to 64 characters on one line: %w", ErrInvalid)
	}
	f.ID, f.Created, f.LastUsed = randomID(), d.now().UTC(), time.Time{}
	rec := factorRecord{Factor: f}
	if secret != nil {
		sealed, err := d.Seal(secret, factorPurpose(userID, f.ID))
		if err != nil {
			return Factor{}, err
		}
		rec.Sealed = sealed
	}
	var uid string
	err := d.store.Update(ctx, func(tx Tx) error {
		var err error
		uid, err = d.putNewFactor(tx, userID, rec)
		return err
	})
	if err != nil {
		return Factor{}, fmt.Errorf("add %s factor: %w", f.Kind, err)
	}
	d.Audit(AuditEvent{Kind: "mfa", Subject: uid, Result: ResultEnrolled, Detail: f.Kind + ":" + f.Name})
	return f, nil
}

// putNewFactor checks the user and the factor limit and stores rec; it
// returns the user's uid for the audit log.
func (d *Directory) putNewFactor(tx Tx, userID string, rec factorRecord) (string, error) {
	r := Reader{tx: tx}
	u, err := r.User(userID)
	if err != nil {
		return "", err
	}
	recs, err := r.factorRecords(userID)
	if err != nil {
		return "", err
	}
	if len(recs) >= maxFactors {
		return "", fmt.Errorf("at most %d second factors per user: %w", maxFactors, ErrInvalid)
	}
	return u.UID, putJSON(tx, bFactors, factorKey(userID, rec.ID), rec)
}

// FactorSecret returns the unsealed secret of one of the user's factors
// (nil if it has none), or ErrNotFound.
func (d *Directory) FactorSecret(ctx context.Context, userID, factorID string) ([]byte, error) {
	var rec factorRecord
	err := d.store.View(ctx, func(tx Tx) error { return getJSON(tx, bFactors, factorKey(userID, factorID), &rec) })
	if err != nil {
		return nil, fmt.Errorf("factor %s: %w", factorID, err)
	}
	if rec.Sealed == nil {
		return nil, nil
	}
	return d.Unseal(rec.Sealed, factorPurpose(userID, factorID))
}

// UpdateFactorSecret replaces a factor's secret with what fn returns, in one
// transaction, so concurrent updates (a passkey's signature counter) are
// never lost. fn returning an error leaves the secret as it was. It also
// sets LastUsed.
func (d *Directory) UpdateFactorSecret(ctx context.Context, userID, factorID string, fn func(secret []byte) ([]byte, error)) error {
	err := d.store.Update(ctx, func(tx Tx) error {
		key := factorKey(userID, factorID)
		var rec factorRecord
		if err := getJSON(tx, bFactors, key, &rec); err != nil {
			return err
		}
		var secret []byte
		if rec.Sealed != nil {
			var err error
			if secret, err = d.Unseal(rec.Sealed, factorPurpose(userID, factorID)); err != nil {
				return err
			}
		}
		next, err := fn(secret)
		if err != nil {
			return err
		}
		rec.Sealed = nil
		if next != nil {
			if rec.Sealed, err = d.Seal(next, factorPurpose(userID, factorID)); err != nil {
				return err
			}
		}
		rec.LastUsed = d.now().UTC()
		return putJSON(tx, bFactors, key, rec)
	})
	if err != nil {
		return fmt.Errorf("update factor %s: %w", factorID, err)
	}
	return nil
}

// RemoveFactor deletes one factor. It refuses with ErrLastFactor when it is
// the user's last factor and MFA is required of them (MFARequired); removing
// the last factor otherwise also deletes the recovery codes, which stand in
// for a factor that no longer exists. The removal is audited.
func (d *Directory) RemoveFactor(ctx context.Context, userID, factorID string) error {
	var uid, what string
	err := d.store.Update(ctx, func(tx Tx) error {
		r := Reader{tx: tx}
		u, err := r.User(userID)
		if err != nil {
			return err
		}
		uid = u.UID
		recs, err := r.factorRecords(userID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(recs, func(rec factorRecord) bool { return rec.ID == factorID })
		if i < 0 {
			return fmt.Errorf("factor %s: %w", factorID, ErrNotFound)
		}
		what = recs[i].Kind + ":" + recs[i].Name
		if len(recs) == 1 {
			required, err := d.mfaRequired(r, userID)
			if err != nil {
				return err
			}
			if required {
				return ErrLastFactor
			}
			if err := tx.Delete(bMFA, userID); err != nil {
				return err
			}
		}
		return tx.Delete(bFactors, factorKey(userID, factorID))
	})
	if err != nil {
		return fmt.Errorf("remove factor: %w", err)
	}
	d.Audit(AuditEvent{Kind: "mfa", Subject: uid, Result: ResultRemoved, Detail: what})
	return nil
}

// ResetMFA removes all of a user's factors, recovery codes and pending
// enrollment, and lifts a suspension of push approvals, for a user who lost
// their phone; where MFA is required, they enroll again at their next
// login. It is audited with service "cli".
func (d *Directory) ResetMFA(ctx context.Context, userID string) error {
	var uid string
	n, suspended := 0, false
	err := d.store.Update(ctx, func(tx Tx) error {
		r := Reader{tx: tx}
		u, err := r.User(userID)
		if err != nil {
			return err
		}
		uid = u.UID
		m, err := r.mfa(userID)
		if err != nil {
			return err
		}
		suspended = !m.PushSuspended.IsZero()
		n, err = deleteMFA(tx, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("reset MFA: %w", err)
	}
	detail := fmt.Sprintf("%d factors removed", n)
	if suspended {
		detail += "; push approvals no longer suspended"
	}
	d.Audit(AuditEvent{Kind: "mfa", Subject: uid, Service: "cli", Result: ResultReset, Detail: detail})
	return nil
}

// deleteMFA removes every second-factor record of the user in tx and says
// how many factors there were.
func deleteMFA(tx Tx, userID string) (int, error) {
	var keys []string
	err := tx.Scan(bFactors, userID+"/", "", func(k string, _ []byte) error {
		keys = append(keys, k)
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := tx.Delete(bFactors, k); err != nil {
			return 0, err
		}
	}
	return len(keys), tx.Delete(bMFA, userID)
}

// BeginTOTP starts a TOTP enrollment: it returns a new random 160-bit
// secret to show the user (as a QR code of totp.URI and as text) and keeps
// it, sealed, as the user's one pending enrollment for 15 minutes. A later
// BeginTOTP replaces it. Nothing is enrolled until ConfirmTOTP.
func (d *Directory) BeginTOTP(ctx context.Context, userID string) ([]byte, error) {
	secret, err := totp.NewSecret()
	if err != nil {
		return nil, err
	}
	sealed, err := d.Seal(secret, pendingPurpose(userID))
	if err != nil {
		return nil, err
	}
	err = d.store.Update(ctx, func(tx Tx) error {
		r := Reader{tx: tx}
		if _, err := r.User(userID); err != nil {
			return err
		}
		m, err := r.mfa(userID)
		if err != nil {
			return err
		}
		m.PendingTOTP, m.PendingExpires = sealed, d.now().UTC().Add(pendingTOTPLife)
		return putJSON(tx, bMFA, userID, m)
	})
	if err != nil {
		return nil, fmt.Errorf("begin TOTP enrollment: %w", err)
	}
	return secret, nil
}

// ConfirmTOTP completes the pending enrollment when code is valid for its
// secret (±1 step); that code's step is spent, so the same code cannot also
// sign in. name labels the factor ("Authenticator app" when empty). A wrong
// code, or no live pending enrollment, is ErrBadCode; failures count in the
// backoff (a *ThrottledError once too many) and every attempt is audited.
func (d *Directory) ConfirmTOTP(ctx context.Context, userID, name, code, remote string) (Factor, error) {
	if name == "" {
		name = "Authenticator app"
	}
	if !validFactorName(name) {
		return Factor{}, fmt.Errorf("factor name: 1 to 64 characters on one line: %w", ErrInvalid)
	}
	f := Factor{ID: randomID(), Kind: FactorTOTP, Name: name}
	err := d.checkCode(ctx, userID, remote, "web", "totp-enroll", func(tx Tx) (bool, error) {
		r := Reader{tx: tx}
		m, err := r.mfa(userID)
		if err != nil || m.PendingTOTP == nil || !d.now().Before(m.PendingExpires) {
			return false, err
		}
		secret, err := d.Unseal(m.PendingTOTP, pendingPurpose(userID))
		if err != nil {
			return false, err
		}
		now := d.now()
		step, ok := totp.Match(secret, normaliseCode(code), now, 0)
		if !ok {
			return false, nil
		}
		sealed, err := d.Seal(secret, factorPurpose(userID, f.ID))
		if err != nil {
			return false, err
		}
		f.Created, f.LastUsed = now.UTC(), now.UTC()
		if _, err := d.putNewFactor(tx, userID, factorRecord{Factor: f, Sealed: sealed, Step: step}); err != nil {
			return false, err
		}
		m.PendingTOTP, m.PendingExpires = nil, time.Time{}
		return true, putJSON(tx, bMFA, userID, m)
	})
	if err != nil {
		return Factor{}, err
	}
	d.Audit(AuditEvent{Kind: "mfa", Subject: d.uidOf(ctx, userID), Remote: remote, Service: "web", Result: ResultEnrolled, Detail: f.Kind + ":" + f.Name})
	return f, nil
}

// VerifyTOTP checks code against the user's TOTP factors, accepting the
// steps within ±1 of now. The matched step is recorded in the same
// transaction that accepts it, so each code signs in once even when two
// logins race. A wrong or replayed code is ErrBadCode; failures count in
// the backoff per account and address (a *ThrottledError once too many),
// and every attempt is audited with service.
func (d *Directory) VerifyTOTP(ctx context.Context, userID, code, remote, service string) error {
	return d.checkCode(ctx, userID, remote, service, "totp", func(tx Tx) (bool, error) {
		recs, err := Reader{tx: tx}.factorRecords(userID)
		if err != nil {
			return false, err
		}
		now := d.now()
		for _, rec := range recs {
			if rec.Kind != FactorTOTP {
				continue
			}
			secret, err := d.Unseal(rec.Sealed, factorPurpose(userID, rec.ID))
			if err != nil {
				return false, err
			}
			if step, ok := totp.Match(secret, normaliseCode(code), now, rec.Step); ok {
				rec.Step, rec.LastUsed = step, now.UTC()
				return true, putJSON(tx, bFactors, factorKey(userID, rec.ID), rec)
			}
		}
		return false, nil
	})
}

// NewRecoveryCodes issues 10 new single-use recovery codes, replacing any
// earlier set, and returns them. Only their hashes are kept: show them to
// the user once.
func (d *Directory) NewRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([]string, RecoveryCodeCount)
	for i := range codes {
		codes[i] = newRecoveryCode()
		hashes[i] = hashRecoveryCode(codes[i])
	}
	var uid string
	err := d.store.Update(ctx, func(tx Tx) error {
		r := Reader{tx: tx}
		u, err := r.User(userID)
		if err != nil {
			return err
		}
		uid = u.UID
		m, err := r.mfa(userID)
		if err != nil {
			return err
		}
		m.Recovery = hashes
		return putJSON(tx, bMFA, userID, m)
	})
	if err != nil {
		return nil, fmt.Errorf("new recovery codes: %w", err)
	}
	d.Audit(AuditEvent{Kind: "mfa", Subject: uid, Result: ResultEnrolled, Detail: "recovery-codes"})
	return codes, nil
}

// UseRecoveryCode accepts one unused recovery code (case, spaces and dashes
// do not matter) and spends it; it returns how many are left. A wrong or
// spent code is ErrBadCode, counted in the backoff like a wrong password (a
// *ThrottledError once too many); every attempt is audited with service.
func (d *Directory) UseRecoveryCode(ctx context.Context, userID, code, remote, service string) (int, error) {
	left := 0
	err := d.checkCode(ctx, userID, remote, service, "recovery", func(tx Tx) (bool, error) {
		m, err := Reader{tx: tx}.mfa(userID)
		if err != nil {
			return false, err
		}
		h := []byte(hashRecoveryCode(code))
		i := slices.IndexFunc(m.Recovery, func(stored string) bool { return subtle.ConstantTimeCompare(h, []byte(stored)) == 1 })
		if i < 0 {
			return false, nil
		}
		m.Recovery = slices.Delete(m.Recovery, i, i+1)
		left = len(m.Recovery)
		return true, putJSON(tx, bMFA, userID, m)
	})
	return left, err
}

// SuspendPush turns push approvals off for the user, who answered one with
// "this wasn't me": someone else knows their password. They stay off until
// ResumePush, ResetMFA, or the removal of the user's last factor (which
// clears every second-factor record of theirs). Package push audits it.
func (d *Directory) SuspendPush(ctx context.Context, userID string) error {
	err := d.store.Update(ctx, func(tx Tx) error {
		r := Reader{tx: tx}
		if _, err := r.User(userID); err != nil {
			return err
		}
		m, err := r.mfa(userID)
		if err != nil {
			return err
		}
		m.PushSuspended = d.now().UTC()
		return putJSON(tx, bMFA, userID, m)
	})
	if err != nil {
		return fmt.Errorf("suspend push: %w", err)
	}
	return nil
}

// PushSuspended reports whether push approvals are suspended for the user.
func (d *Directory) PushSuspended(ctx context.Context, userID string) (bool, error) {
	return view(ctx, d, func(r Reader) (bool, error) {
		m, err := r.mfa(userID)
		return !m.PushSuspended.IsZero(), err
	})
}

// ResumePush turns push approvals back on for the user and reports whether
// they were suspended.
func (d *Directory) ResumePush(ctx context.Context, userID string) (bool, error) {
	was := false
	err := d.store.Update(ctx, func(tx Tx) error {
		m, err := Reader{tx: tx}.mfa(userID)
		if err != nil || m.PushSuspended.IsZero() {
			return err
		}
		was, m.PushSuspended = true, time.Time{}
		return putJSON(tx, bMFA, userID, m)
	})
	if err != nil {
		return false, fmt.Errorf("resume push: %w", err)
	}
	return was, nil
}

// RecoveryCodesLeft says how many unused recovery codes the user has.
func (d *Directory) RecoveryCodesLeft(ctx context.Context, userID string) (int, error) {
	return view(ctx, d, func(r Reader) (int, error) {
		m, err := r.mfa(userID)
		return len(m.Recovery), err
	})
}

// MFARequired reports whether the policy requires a second factor of the
// user at every interactive login (apps with RequireMFA require it too, but
// only for themselves).
func (d *Directory) MFARequired(ctx context.Context, userID string) (bool, error) {
	if err := d.fresh(ctx); err != nil {
		return false, err
	}
	return view(ctx, d, func(r Reader) (bool, error) { return d.mfaRequired(r, userID) })
}

func (d *Directory) mfaRequired(r Reader, userID string) (bool, error) {
	policy := d.MFAPolicy()
	if policy.All {
		return true, nil
	}
	return memberOfAny(r, userID, policy.Groups)
}

// warnMissingPolicyGroups logs the policy's group names that match no
// group: a typo there would silently require nothing of anyone.
func (d *Directory) warnMissingPolicyGroups(ctx context.Context) {
	_ = d.View(ctx, func(_ context.Context, r Reader) error {
		policy := d.MFAPolicy()
		for setting, cns := range map[string][]string{"MFA required": policy.Groups, "LDAP app passwords only": policy.LDAPAppPasswordOnly} {
			for _, cn := range cns {
				if _, err := r.GroupByCN(cn); errors.Is(err, ErrNotFound) {
					d.log.Warn("policy names a group that does not exist; it applies to nobody until the group is created", "policy", setting, "group", cn)
				}
			}
		}
		return nil
	})
}

// memberOfAny reports whether the user is a member, direct or nested, of a
// group named in cns.
func memberOfAny(r Reader, userID string, cns []string) (bool, error) {
	if len(cns) == 0 {
		return false, nil
	}
	ids, err := r.EffectiveGroupIDs(userID)
	if err != nil {
		return false, err
	}
	for _, cn := range cns {
		id, err := r.GroupIDByCN(cn)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if slices.Contains(ids, id) {
			return true, nil
		}
	}
	return false, nil
}

// checkCode runs one check of a second-factor code for the user: backoff
// first, then accept in one update transaction (which returns whether the
// code was good and writes what it spends), then count and audit the
// result under detail.
func (d *Directory) checkCode(ctx context.Context, userID, remote, service, detail string, accept func(Tx) (bool, error)) error {
	subject := secondFactorSubject + userID
	uid := d.uidOf(ctx, userID)
	audit := func(result string) {
		d.Audit(AuditEvent{Kind: "mfa", Subject: uid, Remote: remote, Service: service, Result: result, Detail: detail})
	}
	if err := d.backoff.check(remote, subject); err != nil {
		audit(ResultThrottled)
		return err
	}
	ok := false
	err := d.store.Update(ctx, func(tx Tx) error {
		if _, err := (Reader{tx: tx}).User(userID); err != nil {
			return err
		}
		var err error
		ok, err = accept(tx)
		return err
	})
	if err != nil {
		return fmt.Errorf("check %s code: %w", detail, err)
	}
	if !ok {
		d.backoff.fail(remote, subject)
		audit(ResultBadCode)
		return ErrBadCode
	}
	d.backoff.succeed(remote, subject)
	if detail != "totp-enroll" {
		audit(ResultOK)
	}
	return nil
}

// uidOf names a user in the audit log; an unknown ID is logged as itself.
func (d *Directory) uidOf(ctx context.Context, userID string) string {
	name, err := view(ctx, d, func(r Reader) (string, error) { return r.Name(userID) })
	if err != nil {
		return userID
	}
	return name
}

// Recovery codes are 10 characters from an alphabet without look-alikes,
// about 50 bits each, shown as "xxxxx-xxxxx". Being machine-generated, a
// fast hash keeps them as safe as a slow one would.
const recoveryAlphabet = "abcdefghjkmnpqrstuvwxyz23456789"

func newRecoveryCode() string {
	var sb strings.Builder
	b := make([]byte, 1)
	for n := 0; n < 10; {
		rand.Read(b)
		// Drop the bytes past the last whole multiple, so every character is
		// equally likely.
		if int(b[0]) >= 256/len(recoveryAlphabet)*len(recoveryAlphabet) {
			continue
		}
		if n == 5 {
			sb.WriteByte('-')
		}
		sb.WriteByte(recoveryAlphabet[int(b[0])%len(recoveryAlphabet)])
		n++
	}
	return sb.String()
}

func hashRecoveryCode(code string) string {
	sum := sha256.Sum256([]byte(normaliseCode(strings.ToLower(code))))
	return hex.EncodeToString(sum[:])
}

// normaliseCode drops the spaces and dashes people type into codes.
func normaliseCode(code string) string {
	return strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(strings.TrimSpace(code))
}

func randomID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
