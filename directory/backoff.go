package directory

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/atrium-dir/atrium/internal/logsafe"
)

// BackoffConfig tunes the defence against password guessing. Two
// counters run side by side, and each refuses only the attempts it is
// about, so that a flood at one account cannot keep other accounts, or the
// same account elsewhere, out:
//
//   - per account from one address: an account that keeps failing from an
//     address is under attack from there, and is slowed and then blocked
//     there, even with the right password (guessing gains nothing). This
//     is the only block a correct password meets at an address: the NAS's
//     bind account keeps working from an address that floods another
//     account, and spraying one password at many accounts gets a few tries
//     at each;
//   - per account, from every address: many addresses failing at one
//     account (a botnet) lock it briefly, except from addresses it signed
//     in from lately, so its owner keeps working from where they work.
//
// "Lately" is trustedFor. A second factor's account lock applies from every
// address: its guesser already holds the password.
type BackoffConfig struct {
	AddressFreeFailures int           // failures an account may make from one address before it is slowed there (5)
	AddressMaxBlock     time.Duration // longest block of an account at one address (15m)
	AccountFailures     int           // failures on one account, from anywhere, that lock it (20)
	AccountLock         time.Duration // how long that lock lasts (30s)
	Window              time.Duration // failures older than this are forgotten (15m)
}

func (c BackoffConfig) withDefaults() BackoffConfig {
	if c.AddressFreeFailures <= 0 {
		c.AddressFreeFailures = 5
	}
	if c.AddressMaxBlock <= 0 {
		c.AddressMaxBlock = 15 * time.Minute
	}
	if c.AccountFailures <= 0 {
		c.AccountFailures = 20
	}
	if c.AccountLock <= 0 {
		c.AccountLock = 30 * time.Second
	}
	if c.Window <= 0 {
		c.Window = 15 * time.Minute
	}
	return c
}

// ErrThrottled means too many recent failures; see ThrottledError.
var ErrThrottled = errors.New("too many failed attempts")

// ThrottledError says how long the caller should wait.
type ThrottledError struct{ RetryAfter time.Duration }

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed attempts, retry in %s", e.RetryAfter.Round(time.Second))
}
func (e *ThrottledError) Is(target error) bool { return target == ErrThrottled }

type failures struct {
	count        int
	last         time.Time
	blockedUntil time.Time
	locks        int // account locks in a row, which lengthen a second factor's
}

// blockedFor is how long f still blocks, or 0.
func (f *failures) blockedFor(now time.Time) time.Duration {
	if f == nil || !f.blockedUntil.After(now) {
		return 0
	}
	return f.blockedUntil.Sub(now)
}

// trustedFor is how long a success from an address exempts that account
// there from the address's and the account's blocks. A device binds every
// few minutes, a person signs in daily.
const trustedFor = 24 * time.Hour

// trustShareEvery is how often, at most, a node tells the others of a
// shared store that an account still signs in from an address, so that
// they trust it there too without a write per bind.
const trustShareEvery = time.Hour

// maxEntries bounds the backoff's memory: beyond it, stale entries are
// swept before another is added, and trust is forgotten if that is not
// enough.
const maxEntries = 100_000

// pairKey is one account at one address.
type pairKey struct{ addr, account string }

type backoff struct {
	cfg      BackoffConfig
	now      func() time.Time
	mu       sync.Mutex
	accounts map[string]*failures
	pairs    map[pairKey]*failures
	trusted  map[pairKey]time.Time // last success of an account from an address
	// shared, when set, tells the other nodes of a shared store of each
	// failure, and of a success that cleared failures (see sharedBackoff).
	shared func(backoffEvent)
}

func newBackoff(cfg BackoffConfig, now func() time.Time) *backoff {
	return &backoff{cfg: cfg, now: now, accounts: map[string]*failures{},
		pairs: map[pairKey]*failures{}, trusted: map[pairKey]time.Time{}}
}

// boundedKey keeps the backoff's keys short whatever name a client sent:
// a long one is replaced by its digest.
func boundedKey(s string) string {
	if len(s) <= logsafe.MaxValue {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// check returns a ThrottledError if account may not try now from addr.
func (b *backoff) check(addr, account string) error {
	addr, account = boundedKey(addr), boundedKey(account)
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	k := pairKey{addr, account}
	wait := b.pairs[k].blockedFor(now)
	if now.Sub(b.trusted[k]) >= trustedFor || strings.HasPrefix(account, secondFactorSubject) {
		wait = max(wait, b.accounts[account].blockedFor(now))
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// fail records a failed attempt.
func (b *backoff) fail(addr, account string) {
	b.apply(backoffEvent{Addr: addr, Account: account})
	b.publish(backoffEvent{Addr: addr, Account: account})
}

// failAccount records a failed attempt on account from an unknown address
// (one a Samba server reports).
func (b *backoff) failAccount(account string) {
	b.apply(backoffEvent{Account: account, NoAddr: true})
	b.publish(backoffEvent{Account: account, NoAddr: true})
}

func (b *backoff) publish(ev backoffEvent) {
	if b.shared != nil {
		b.shared(ev)
	}
}

// apply counts a failure, or a success, made here or on another node.
func (b *backoff) apply(ev backoffEvent) (hadFailures bool) {
	addr, account := boundedKey(ev.Addr), boundedKey(ev.Account)
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	switch {
	case ev.OK:
		k := pairKey{addr, account}
		hadFailures = b.accounts[account] != nil || b.pairs[k] != nil
		delete(b.accounts, account)
		delete(b.pairs, k)
		b.trustLocked(k, now)
	case ev.NoAddr:
		b.failAccountLocked(account, now)
	default:
		if len(b.accounts)+len(b.pairs)+len(b.trusted) > maxEntries {
			b.sweepLocked(now)
		}
		b.slowLocked(touch(b.pairs, pairKey{addr, account}, now, b.cfg.Window), now)
		b.failAccountLocked(account, now)
	}
	return hadFailures
}

func (b *backoff) failAccountLocked(account string, now time.Time) {
	acc := touch(b.accounts, account, now, b.cfg.Window)
	limit, lock := b.cfg.AccountFailures, b.cfg.AccountLock
	if strings.HasPrefix(account, secondFactorSubject) {
		// A 6-digit code has a million values, not a password's billions,
		// and the guesser already holds the password: lock after as few
		// failures as an address gets free, twice as long each time.
		limit, lock = b.cfg.AddressFreeFailures, min(lock<<min(acc.locks, 20), b.cfg.AddressMaxBlock)
	}
	if acc.count >= limit {
		acc.blockedUntil = now.Add(lock)
		acc.count = 0
		acc.locks++
	}
}

// slowLocked blocks f for a time that doubles with each failure beyond the
// free ones, up to AddressMaxBlock.
func (b *backoff) slowLocked(f *failures, now time.Time) {
	if extra := f.count - b.cfg.AddressFreeFailures; extra > 0 {
		block := b.cfg.AddressMaxBlock
		if extra < 30 {
			block = min(time.Second<<(extra-1), block)
		}
		f.blockedUntil = now.Add(block)
	}
}

// succeed clears the account's failures, from addr and from everywhere,
// and trusts the account at addr. The other nodes of a shared store hear
// of it when it cleared failures or brings trust they may lack.
func (b *backoff) succeed(addr, account string) {
	ev := backoffEvent{Addr: addr, Account: account, OK: true}
	stale := b.trustAge(addr, account) >= trustShareEvery
	if b.apply(ev) || stale {
		b.publish(ev)
	}
}

// trustAge is how long ago account last signed in from addr.
func (b *backoff) trustAge(addr, account string) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	at, ok := b.trusted[pairKey{boundedKey(addr), boundedKey(account)}]
	if !ok {
		return trustedFor
	}
	return b.now().Sub(at)
}

func (b *backoff) trustLocked(k pairKey, now time.Time) {
	if _, known := b.trusted[k]; !known && len(b.accounts)+len(b.pairs)+len(b.trusted) > maxEntries {
		b.sweepLocked(now)
		if len(b.trusted) >= maxEntries {
			// One valid account signing in from very many addresses could
			// fill the table; forgetting trust only falls back to the
			// stricter rules, while forgetting failures would help guessers.
			clear(b.trusted)
		}
	}
	b.trusted[k] = now
}

// touch counts one failure under key, forgetting an old record first.
func touch[K comparable](m map[K]*failures, key K, now time.Time, window time.Duration) *failures {
	f := m[key]
	if f == nil || now.Sub(f.last) > window && now.Sub(f.blockedUntil) > window {
		f = &failures{}
		m[key] = f
	}
	f.count++
	f.last = now
	return f
}

func (b *backoff) sweepLocked(now time.Time) {
	stale := func(f *failures) bool { return now.Sub(f.last) > b.cfg.Window && !f.blockedUntil.After(now) }
	maps.DeleteFunc(b.accounts, func(_ string, f *failures) bool { return stale(f) })
	maps.DeleteFunc(b.pairs, func(_ pairKey, f *failures) bool { return stale(f) })
	maps.DeleteFunc(b.trusted, func(_ pairKey, at time.Time) bool { return now.Sub(at) >= trustedFor })
}

// AllowAttempt reports (as a ThrottledError) whether a secret for subject
// may be checked now from remote. Every front end that checks a secret of
// its own (a TOTP code, say) asks here first and reports with
// RecordAttempt, so guessing is slowed the same way everywhere.
func (d *Directory) AllowAttempt(remote, subject string) error {
	return d.backoff.check(remote, subject)
}

// RecordAttempt counts the result of one check of a secret.
func (d *Directory) RecordAttempt(remote, subject string, ok bool) {
	if ok {
		d.backoff.succeed(remote, subject)
	} else {
		d.backoff.fail(remote, subject)
	}
}
