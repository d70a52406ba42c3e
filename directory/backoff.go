package directory

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// BackoffConfig tunes the defence against password guessing. Two counters
// run side by side: one per client address, which slows and then blocks an
// address that keeps failing, and one per account, which locks the account
// only briefly so that a flood from one place cannot keep the real user out
// for long when they come from another.
type BackoffConfig struct {
	AddressFreeFailures int           // failures one address may make before it is slowed (5)
	AddressMaxBlock     time.Duration // longest block of one address (15m)
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

type backoff struct {
	cfg      BackoffConfig
	now      func() time.Time
	mu       sync.Mutex
	addrs    map[string]*failures
	accounts map[string]*failures
}

func newBackoff(cfg BackoffConfig, now func() time.Time) *backoff {
	return &backoff{cfg: cfg, now: now, addrs: map[string]*failures{}, accounts: map[string]*failures{}}
}

// check returns a ThrottledError if addr or account may not try now.
func (b *backoff) check(addr, account string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	wait := time.Duration(0)
	for _, f := range []*failures{b.addrs[addr], b.accounts[account]} {
		if f != nil && f.blockedUntil.After(now) {
			wait = max(wait, f.blockedUntil.Sub(now))
		}
	}
	if wait > 0 {
		return &ThrottledError{RetryAfter: wait}
	}
	return nil
}

// fail records a failed attempt.
func (b *backoff) fail(addr, account string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if len(b.addrs)+len(b.accounts) > 100_000 {
		b.sweepLocked(now)
	}
	a := b.touchLocked(b.addrs, addr, now)
	if extra := a.count - b.cfg.AddressFreeFailures; extra > 0 {
		block := b.cfg.AddressMaxBlock
		if extra < 30 {
			block = min(time.Second<<(extra-1), block)
		}
		a.blockedUntil = now.Add(block)
	}
	b.failAccountLocked(account, now)
}

// failAccount records a failed attempt on account from an unknown address
// (one a Samba server reports).
func (b *backoff) failAccount(account string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failAccountLocked(account, b.now())
}

func (b *backoff) failAccountLocked(account string, now time.Time) {
	acc := b.touchLocked(b.accounts, account, now)
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

// succeed clears the account's failures. The address keeps its count, so
// an attacker holding one valid account cannot reset it.
func (b *backoff) succeed(account string) {
	b.mu.Lock()
	delete(b.accounts, account)
	b.mu.Unlock()
}

func (b *backoff) touchLocked(m map[string]*failures, key string, now time.Time) *failures {
	f := m[key]
	if f == nil || now.Sub(f.last) > b.cfg.Window && now.Sub(f.blockedUntil) > b.cfg.Window {
		f = &failures{}
		m[key] = f
	}
	f.count++
	f.last = now
	return f
}

func (b *backoff) sweepLocked(now time.Time) {
	for _, m := range []map[string]*failures{b.addrs, b.accounts} {
		for k, f := range m {
			if now.Sub(f.last) > b.cfg.Window && !f.blockedUntil.After(now) {
				delete(m, k)
			}
		}
	}
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
		d.backoff.succeed(subject)
	} else {
		d.backoff.fail(remote, subject)
	}
}
