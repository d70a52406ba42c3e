package directory

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Syncer is a Store shared by several processes (etcd) whose Views read a
// local copy. Sync returns once that copy holds every commit made anywhere
// before the call, or fails with ErrUnavailable.
type Syncer interface {
	Sync(ctx context.Context) error
}

// Shared reports whether the store is shared with other nodes (etcd).
func (d *Directory) Shared() bool { return d.syncer != nil }

// Change names one record a shared store saw written or deleted, by this
// process or another.
type Change struct{ Bucket, Key string }

// ChangeNotifier is a shared store that reports every change it applies,
// whoever made it. nil changes mean anything may have changed (the local
// copy was reloaded). fn runs on the store's apply loop: it must be quick.
type ChangeNotifier interface {
	NotifyChanges(fn func(changes []Change))
}

// DefaultSyncTimeout bounds the freshness check before a login reads
// credentials (Options.SyncTimeout).
const DefaultSyncTimeout = 2 * time.Second

// staleRetry is how long logins go on from the local copy, without
// asking, after a freshness check found the store unavailable: without a
// quorum each login would otherwise wait SyncTimeout first.
const staleRetry = 5 * time.Second

// fresh makes the store's local copy current before credentials are read,
// so that a password change, a disable or an MFA reset made on another
// node counts at once. Without a quorum it logs and goes on from the copy
// (the last known state), unless Options.RequireFreshLogins refuses.
func (d *Directory) fresh(ctx context.Context) error {
	if d.syncer == nil {
		return nil
	}
	if time.Now().UnixNano() < d.staleUntil.Load() {
		return d.stale()
	}
	sctx, cancel := context.WithTimeout(ctx, d.syncTimeout)
	defer cancel()
	err := d.syncer.Sync(sctx)
	switch {
	case err == nil:
		d.freshSettings(ctx)
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case !errors.Is(err, ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("check that credentials are current: %w", err)
	}
	d.staleUntil.Store(time.Now().Add(staleRetry).UnixNano())
	d.log.Warn("store unavailable: logins are checked against this node's last copy", "refused", d.requireFresh, "retry_in", staleRetry, "err", err)
	return d.stale()
}

// stale is the answer to a login while the store cannot confirm that the
// local copy is current.
func (d *Directory) stale() error {
	if d.requireFresh {
		return fmt.Errorf("check that credentials are current: %w", ErrUnavailable)
	}
	return nil
}

// watchShared subscribes the in-memory caches to a shared store's
// changes, so that a change made on any node drops them on every node:
// verified binds of a principal whose credentials or record changed, and
// the parsed secrets (SAML keys) when a secret changed, and the
// run-time settings when their record changed. Backoff counters
// are shared through the store (see sharedBackoff). The group decode
// cache compares stored bytes on every use and needs nothing.
func (d *Directory) watchShared(store Store) {
	if s, ok := store.(Syncer); ok {
		d.syncer = s
	}
	n, ok := store.(ChangeNotifier)
	if !ok {
		return
	}
	d.sharedBackoff = newSharedBackoff(d)
	d.backoff.shared = d.sharedBackoff.add
	n.NotifyChanges(func(changes []Change) {
		if changes == nil {
			d.binds.forgetAll()
			d.secretsGen.Add(1)
			d.reloadSettingsLater()
			return
		}
		d.sharedBackoff.received(changes)
		for _, c := range changes {
			switch c.Bucket {
			case bCreds, bUsers, bAccounts:
				d.binds.forget(c.Key)
			case bSecrets:
				d.secretsGen.Add(1)
			case bMeta:
				if c.Key == settingsKey {
					d.reloadSettingsLater()
				}
			}
		}
	})
}

// ErrWrongSecretKey means the secrets key cannot open the secrets the
// store holds: another key sealed them.
var ErrWrongSecretKey = errors.New("the secrets key does not open the secrets in the database")

// CheckSecretKey opens one stored secret (the first by name, such as the
// SAML signing key) with this directory's key. Nodes sharing a store need
// the same secret.key; one with another key would fail every sealed read
// (signing, TOTP, Samba), so it should refuse to start. A store without
// secrets passes.
func (d *Directory) CheckSecretKey(ctx context.Context) error {
	var name string
	var sealed []byte
	err := d.store.View(ctx, func(tx Tx) error {
		return tx.Scan(bSecrets, "", "", func(k string, v []byte) error {
			name, sealed = k, append([]byte(nil), v...)
			return ErrStop
		})
	})
	if err != nil || sealed == nil {
		return err
	}
	if _, err := d.Unseal(sealed, "secret:"+name); err != nil {
		return fmt.Errorf("%w (secret %s: %w)", ErrWrongSecretKey, name, err)
	}
	return nil
}

// WriteLimiter is a Store whose Update can write only so many keys (etcd
// transactions are bounded). Housekeeping that can exceed it (audit
// writes and pruning, sweeping expired state) is split into Updates of at
// most that many writes, each of which stands on its own.
type WriteLimiter interface {
	MaxWrites() int
}

// writeLimit is store's bound on the keys one Update writes; 0: none.
func writeLimit(store Store) int {
	if l, ok := store.(WriteLimiter); ok {
		return l.MaxWrites()
	}
	return 0
}

// inChunks calls fn with consecutive slices of items, each of at most
// size items (all of them at once when size is 0).
func inChunks[T any](items []T, size int, fn func([]T) error) error {
	if size <= 0 {
		size = len(items)
	}
	for len(items) > 0 {
		n := min(size, len(items))
		if err := fn(items[:n]); err != nil {
			return err
		}
		items = items[n:]
	}
	return nil
}
