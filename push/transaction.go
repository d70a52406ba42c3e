package push

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"strconv"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// Guardrails of the design (see ../shared/mfa-notes.md).
const (
	txLifetime = 60 * time.Second
	// txKeep keeps an answered or expired transaction readable, so the
	// waiting login page learns its result rather than "unknown".
	txKeep     = 5 * time.Minute
	rateWindow = 10 * time.Minute
	rateLimit  = 3
)

// State kinds in the directory's short-lived state. A suspension is kept
// by the directory instead (SuspendPush), beside the user's other
// second-factor records, so that an admin's MFA reset lifts it too.
const (
	kindTx   = "push-tx"
	kindUser = "push-user"
)

// Result is a transaction's state as the login page sees it.
type Result string

const (
	Pending  Result = "pending"
	Approved Result = "approved"
	Denied   Result = "denied"
	Expired  Result = "expired"
)

// Errors of transactions. Compare with errors.Is.
var (
	ErrSuspended   = errors.New("push approvals are suspended for this user")
	ErrTooMany     = errors.New("too many push approvals; wait a few minutes or use a code")
	ErrNoDevice    = errors.New("no phone is enrolled for push approvals")
	ErrNotPending  = errors.New("this sign-in request was already answered or has expired")
	ErrWrongNumber = errors.New("wrong number")
	ErrNotYours    = errors.New("this sign-in request belongs to another user")
	ErrPasskey     = errors.New("the passkey did not confirm the approval")
	// ErrNoPasskey means the user has no passkey to confirm an approval
	// with: they set up push on a phone but never created the passkey.
	ErrNoPasskey = errors.New("no passkey is registered to confirm approvals with")
)

// Transaction is one push approval: a sign-in waiting for the user's phone.
type Transaction struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user"`
	App       string    `json:"app"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"ua"`
	Number    int       `json:"number"`
	Choices   [3]int    `json:"choices"` // Number and two decoys, shuffled
	Nonce     []byte    `json:"nonce"`   // makes the binding unpredictable
	Created   time.Time `json:"created"`
	Expires   time.Time `json:"expires"`
	Result    Result    `json:"result,omitempty"` // empty while unanswered
	Reason    string    `json:"reason,omitempty"` // why it was refused or ended
}

// Status is the transaction's result at now.
func (t Transaction) Status(now time.Time) Result {
	switch {
	case t.Result != "":
		return t.Result
	case now.Before(t.Expires):
		return Pending
	default:
		return Expired
	}
}

// Binding is what the phone's passkey confirmation is tied to when the
// user picks number: this transaction (its id and a server-side nonce) and
// that number.
func (t Transaction) Binding(number int) string {
	h := sha256.New()
	h.Write([]byte("atrium push approval\x00"))
	h.Write([]byte(t.ID + "\x00" + strconv.Itoa(number) + "\x00"))
	h.Write(t.Nonce)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// A Confirmer checks the phone's passkey before an approval counts.
// passkey.Passkeys implements it with a WebAuthn assertion ceremony kept
// server-side and bound to binding. Push states what it needs in plain
// types, so that the passkey package does not import push.
type Confirmer interface {
	// HasPasskey reports whether userID has a passkey to confirm with.
	HasPasskey(ctx context.Context, userID string) (bool, error)
	// BeginConfirm starts an assertion over userID's passkeys with
	// userVerification "required", bound to binding. It returns the
	// ceremony to send back and the options of navigator.credentials.get
	// ({"publicKey": {...}}, binary fields base64url).
	BeginConfirm(ctx context.Context, userID, binding string) (ceremony string, options any, err error)
	// FinishConfirm verifies assertion (the PublicKeyCredential as JSON)
	// for the ceremony: begun for userID and binding, user-verified, signed
	// by one of the user's passkeys. A ceremony is used once.
	FinishConfirm(ctx context.Context, userID, binding, ceremony string, assertion []byte, remote string) error
}

// ConfirmChallenge is what the approval page's script needs to ask for the
// passkey: what Confirmer.BeginConfirm returned.
type ConfirmChallenge struct {
	Ceremony string `json:"ceremony"`
	Options  any    `json:"options"`
}

// Request describes the sign-in that asks for approval.
type Request struct {
	UserID    string
	App       string // shown to the user: "Grafana", or "Atrium" for Atrium itself
	IP        string
	UserAgent string
}

// Approvals keeps push transactions in the directory's state, sends the
// notifications and records the answers. Its clock is the directory's.
type Approvals struct {
	dir      *directory.Directory
	notifier Notifier
	confirm  Confirmer
	log      *slog.Logger
}

// NewApprovals returns the push approvals over dir.
func NewApprovals(dir *directory.Directory, n Notifier, c Confirmer, log *slog.Logger) *Approvals {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Approvals{dir: dir, notifier: n, confirm: c, log: log}
}

// userState holds a user's recent pushes and the outstanding transaction.
type userState struct {
	Sent        []time.Time `json:"sent"`
	Outstanding string      `json:"outstanding,omitempty"`
}

// Start creates a transaction for req and pushes it to the user's phones.
// A new transaction replaces the user's outstanding one, which ends as
// expired: the person at the login screen is usually the same one who
// abandoned the last attempt, and the rate limit bounds a replacing
// attacker. Start fails with ErrSuspended, ErrTooMany or ErrNoDevice, and
// with ErrNoDevice too when no phone could be reached.
func (a *Approvals) Start(ctx context.Context, req Request) (Transaction, error) {
	if a.Suspended(ctx, req.UserID) {
		return Transaction{}, ErrSuspended
	}
	devices, err := a.devices(ctx, req.UserID)
	if err != nil {
		return Transaction{}, err
	}
	if len(devices) == 0 {
		return Transaction{}, ErrNoDevice
	}
	u, err := a.dir.UserByID(ctx, req.UserID)
	if err != nil {
		return Transaction{}, err
	}
	now := a.dir.Now()
	tx := Transaction{
		ID: randomID(), UserID: req.UserID, App: req.App, IP: req.IP, UserAgent: req.UserAgent,
		Nonce: randomBytes(16), Created: now, Expires: now.Add(txLifetime),
	}
	tx.Number, tx.Choices = numbers()

	var replaced string
	if err := a.dir.ClaimOnce(ctx, kindUser, req.UserID, now.Add(rateWindow)); err != nil && !errors.Is(err, directory.ErrUsed) {
		return Transaction{}, err
	}
	_, err = directory.UpdateState(ctx, a.dir, kindUser, req.UserID, func(s *userState) (time.Time, error) {
		recent := s.Sent[:0]
		for _, t := range s.Sent {
			if now.Sub(t) < rateWindow {
				recent = append(recent, t)
			}
		}
		if len(recent) >= rateLimit {
			return time.Time{}, ErrTooMany
		}
		s.Sent = append(recent, now)
		replaced, s.Outstanding = s.Outstanding, tx.ID
		return now.Add(rateWindow), nil
	})
	if errors.Is(err, ErrTooMany) {
		a.audit(u.UID, tx, "throttled", "too many push approvals")
		return Transaction{}, err
	}
	if err != nil {
		return Transaction{}, fmt.Errorf("push rate state: %w", err)
	}
	if replaced != "" {
		a.end(ctx, replaced, Expired, "replaced")
	}
	if err := a.dir.PutState(ctx, kindTx, tx.ID, tx, tx.Expires.Add(txKeep)); err != nil {
		return Transaction{}, err
	}

	browser, os := Describe(req.UserAgent)
	payload, _ := json.Marshal(Message{Tx: tx.ID, App: req.App, Browser: browser, OS: os, IP: req.IP})
	n := Notification{Topic: Topic(req.UserID), Payload: payload}
	delivered := 0
	for _, dev := range devices {
		err := a.notifier.Notify(ctx, dev.sub, n)
		switch {
		case err == nil:
			delivered++
		case errors.Is(err, ErrGone):
			a.log.Info("push subscription gone; removing it", "user", u.UID, "factor", dev.factorID)
			if err := a.dir.RemoveFactor(ctx, req.UserID, dev.factorID); err != nil {
				a.log.Warn("remove gone push subscription", "user", u.UID, "factor", dev.factorID, "err", err)
			}
		default:
			a.log.Warn("push failed", "user", u.UID, "factor", dev.factorID, "err", err)
		}
	}
	if delivered == 0 {
		a.end(ctx, tx.ID, Expired, "undelivered")
		a.audit(u.UID, tx, "push-failed", fmt.Sprintf("no phone reached (%d enrolled)", len(devices)))
		return Transaction{}, fmt.Errorf("%w: no enrolled phone could be reached", ErrNoDevice)
	}
	a.audit(u.UID, tx, directory.ResultOK, fmt.Sprintf("push sent to %d phone(s)", delivered))
	return tx, nil
}

type device struct {
	factorID string
	sub      Subscription
}

// devices lists the user's enrolled phones.
func (a *Approvals) devices(ctx context.Context, userID string) ([]device, error) {
	factors, err := a.dir.Factors(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []device
	for _, f := range factors {
		if f.Kind != directory.FactorPush {
			continue
		}
		raw, err := a.dir.FactorSecret(ctx, userID, f.ID)
		if err != nil {
			return nil, err
		}
		sub, err := ParseSubscription(raw)
		if err != nil {
			a.log.Warn("stored push subscription unusable", "factor", f.ID, "err", err)
			continue
		}
		out = append(out, device{factorID: f.ID, sub: sub})
	}
	return out, nil
}

// HasDevice reports whether the user has a phone enrolled for push.
func (a *Approvals) HasDevice(ctx context.Context, userID string) (bool, error) {
	devs, err := a.devices(ctx, userID)
	return len(devs) > 0, err
}

// Transaction returns the transaction id, or directory.ErrNotFound.
func (a *Approvals) Transaction(ctx context.Context, id string) (Transaction, error) {
	var tx Transaction
	err := a.dir.State(ctx, kindTx, id, &tx)
	return tx, err
}

// Status is what the waiting login page may learn: an unknown transaction
// reads as expired.
func (a *Approvals) Status(ctx context.Context, id string) Result {
	tx, err := a.Transaction(ctx, id)
	if err != nil {
		return Expired
	}
	return tx.Status(a.dir.Now())
}

// Finish consumes the answer of the user's transaction for the login flow:
// Approved is returned once, after which the transaction is gone.
func (a *Approvals) Finish(ctx context.Context, id, userID string) (Result, error) {
	var res Result
	_, err := directory.UpdateState(ctx, a.dir, kindTx, id, func(tx *Transaction) (time.Time, error) {
		if tx.UserID != userID {
			return time.Time{}, ErrNotYours
		}
		res = tx.Status(a.dir.Now())
		if res == Pending {
			return tx.Expires.Add(txKeep), nil
		}
		return time.Time{}, nil
	})
	if errors.Is(err, directory.ErrNotFound) {
		return Expired, nil
	}
	return res, err
}

// pending reads the user's transaction and checks it is still open.
func (a *Approvals) pending(ctx context.Context, id, userID string) (Transaction, error) {
	tx, err := a.Transaction(ctx, id)
	if errors.Is(err, directory.ErrNotFound) {
		return Transaction{}, ErrNotPending
	}
	if err != nil {
		return Transaction{}, err
	}
	if tx.UserID != userID {
		return Transaction{}, ErrNotYours
	}
	if tx.Status(a.dir.Now()) != Pending {
		return Transaction{}, ErrNotPending
	}
	return tx, nil
}

// Choose checks the number the user picked. The right one begins the
// passkey confirmation; a wrong one refuses the transaction at once, since
// a second guess would make the match a coin toss.
func (a *Approvals) Choose(ctx context.Context, id, userID string, number int) (ConfirmChallenge, error) {
	tx, err := a.pending(ctx, id, userID)
	if err != nil {
		return ConfirmChallenge{}, err
	}
	if !sameNumber(number, tx.Number) {
		a.answer(ctx, tx, Denied, "wrong-number")
		return ConfirmChallenge{}, ErrWrongNumber
	}
	has, err := a.confirm.HasPasskey(ctx, userID)
	if err != nil {
		return ConfirmChallenge{}, err
	}
	if !has {
		return ConfirmChallenge{}, ErrNoPasskey
	}
	ceremony, options, err := a.confirm.BeginConfirm(ctx, userID, tx.Binding(number))
	if err != nil {
		return ConfirmChallenge{}, err
	}
	return ConfirmChallenge{Ceremony: ceremony, Options: options}, nil
}

// Confirmation is the phone's answer to a ConfirmChallenge.
type Confirmation struct {
	Number    int             `json:"number"`
	Ceremony  string          `json:"ceremony"`
	Assertion json.RawMessage `json:"assertion"`
	Remote    string          `json:"-"` // the phone's address, for backoff and audit
}

// Approve approves the transaction when c names the right number and
// carries the user's passkey assertion bound to the transaction and that
// number. A wrong number refuses the transaction; a failed passkey check
// leaves it pending, so the user may try the passkey again before it
// expires.
func (a *Approvals) Approve(ctx context.Context, id, userID string, c Confirmation) error {
	tx, err := a.pending(ctx, id, userID)
	if err != nil {
		return err
	}
	if !sameNumber(c.Number, tx.Number) {
		a.answer(ctx, tx, Denied, "wrong-number")
		return ErrWrongNumber
	}
	if err := a.confirm.FinishConfirm(ctx, userID, tx.Binding(c.Number), c.Ceremony, c.Assertion, c.Remote); err != nil {
		a.audit(a.uid(ctx, userID), tx, "bad-passkey", "approval not confirmed by the passkey")
		return fmt.Errorf("%w: %w", ErrPasskey, err)
	}
	return a.answer(ctx, tx, Approved, "")
}

// Deny refuses the transaction.
func (a *Approvals) Deny(ctx context.Context, id, userID string) error {
	tx, err := a.pending(ctx, id, userID)
	if err != nil {
		return err
	}
	return a.answer(ctx, tx, Denied, "denied")
}

// NotMe refuses the transaction and suspends push for the user: someone
// else knows their password, and further prompts would only invite a
// fatigued "approve".
func (a *Approvals) NotMe(ctx context.Context, id, userID string) error {
	tx, err := a.pending(ctx, id, userID)
	if err != nil {
		return err
	}
	if err := a.answer(ctx, tx, Denied, "not-me"); err != nil {
		return err
	}
	if err := a.dir.SuspendPush(ctx, userID); err != nil {
		return err
	}
	a.audit(a.uid(ctx, userID), tx, "suspended", "user reported a sign-in that was not theirs; push suspended")
	return nil
}

// Suspended reports whether push is suspended for the user. A store error
// reads as suspended: failing closed costs only a fallback to codes.
func (a *Approvals) Suspended(ctx context.Context, userID string) bool {
	suspended, err := a.dir.PushSuspended(ctx, userID)
	return suspended || err != nil
}

// Unsuspend turns push back on for the user (the self-service page, or
// enrolling a phone). An admin's MFA reset lifts the suspension as well.
func (a *Approvals) Unsuspend(ctx context.Context, userID string) error {
	was, err := a.dir.ResumePush(ctx, userID)
	if err != nil || !was {
		return err
	}
	a.dir.Audit(directory.AuditEvent{Kind: "mfa", Subject: a.uid(ctx, userID), Service: "push", Result: directory.ResultOK, Detail: "push approvals turned back on"})
	return nil
}

// answer records result on a pending transaction and audits it.
func (a *Approvals) answer(ctx context.Context, tx Transaction, result Result, reason string) error {
	err := a.end(ctx, tx.ID, result, reason)
	auditResult := reason
	if result == Approved {
		auditResult = directory.ResultOK
	}
	if err != nil {
		auditResult = "late"
	}
	a.audit(a.uid(ctx, tx.UserID), tx, auditResult, "push answered: "+string(result))
	return err
}

// end sets the result of a transaction that is still pending.
func (a *Approvals) end(ctx context.Context, id string, result Result, reason string) error {
	_, err := directory.UpdateState(ctx, a.dir, kindTx, id, func(tx *Transaction) (time.Time, error) {
		if tx.Status(a.dir.Now()) != Pending {
			return time.Time{}, ErrNotPending
		}
		tx.Result, tx.Reason = result, reason
		return a.dir.Now().Add(txKeep), nil
	})
	if errors.Is(err, directory.ErrNotFound) {
		return ErrNotPending
	}
	return err
}

func (a *Approvals) audit(uid string, tx Transaction, result, detail string) {
	a.dir.Audit(directory.AuditEvent{
		Kind: "mfa", Subject: uid, Remote: tx.IP, Service: "push", Result: result,
		Detail: fmt.Sprintf("%s; app %s; transaction %s", detail, tx.App, tx.ID),
	})
}

// uid names the user in the audit log, falling back to the internal id.
func (a *Approvals) uid(ctx context.Context, userID string) string {
	if u, err := a.dir.UserByID(ctx, userID); err == nil {
		return u.UID
	}
	return userID
}

// Topic is the Web Push topic of a user's notifications: a newer prompt
// replaces an undelivered older one. It is a hash, so the push service does
// not learn the user's id; 24 bytes give exactly the 32 characters allowed.
func Topic(userID string) string {
	sum := sha256.Sum256([]byte("atrium push topic\x00" + userID))
	return base64.RawURLEncoding.EncodeToString(sum[:24])
}

// numbers draws the number in 10–99 and two distinct decoys, and shuffles
// the three.
func numbers() (int, [3]int) {
	var c [3]int
	for i := 0; i < 3; {
		if n := 10 + randInt(90); !slices.Contains(c[:i], n) {
			c[i] = n
			i++
		}
	}
	number := c[0]
	for i := 2; i > 0; i-- {
		j := randInt(i + 1)
		c[i], c[j] = c[j], c[i]
	}
	return number, c
}

func randInt(n int) int {
	v, _ := rand.Int(rand.Reader, big.NewInt(int64(n))) // crypto/rand.Reader does not fail
	return int(v.Int64())
}

func sameNumber(a, b int) bool {
	return subtle.ConstantTimeEq(int32(a), int32(b)) == 1
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func randomID() string { return base64.RawURLEncoding.EncodeToString(randomBytes(24)) }
