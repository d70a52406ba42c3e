package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/atrium-dir/atrium/directory/password"
)

// SchemaVersion is the layout of the records this release writes.
const SchemaVersion = 4

// migrations[i] upgrades a store from schema i+1 to i+2. Append, never edit.
var migrations = []func(Tx) error{
	indexUserCommonNames,    // 1 to 2: ix.usercn
	reindexGroupCommonNames, // 2 to 3: ix.cn keys fold spaces as well as case
	indexAuditSubjects,      // 3 to 4: ix.auditby
}

// reindexGroupCommonNames rekeys ix.cn with cnKey, which folds spaces as
// LDAP's caseIgnoreMatch does. Two groups whose names differ only in
// spacing already had the same DN over LDAP. Of such twins, the one whose
// name needs no folding (else the lowest ID) takes the folded key; the
// other keeps its old key, so it is still listed, but a lookup by name
// finds its twin, as a lookup by DN always did.
func reindexGroupCommonNames(tx Tx) error {
	type entry struct{ old, id string }
	var entries []entry
	if err := tx.Scan(ixCN, "", "", func(k string, id []byte) error {
		entries = append(entries, entry{k, string(id)})
		return nil
	}); err != nil {
		return err
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.id, b.id) })
	for _, e := range entries {
		key := cnKey(e.old)
		if key == e.old {
			continue
		}
		if _, err := tx.Get(ixCN, key); err == nil {
			continue // another group holds the folded name
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.Delete(ixCN, e.old); err != nil {
			return err
		}
		if err := tx.Put(ixCN, key, []byte(e.id)); err != nil {
			return err
		}
	}
	return nil
}

// indexUserCommonNames builds ix.usercn for every user.
func indexUserCommonNames(tx Tx) error {
	return buildIndex(tx, bUsers, ixUserCN, func(_ string, u User) string { return userCNKey(u) })
}

// buildIndex adds to index the key entry gives each record of bucket (none
// when it gives ""). The keys are gathered first: a Store need not allow
// writes during a Scan.
func buildIndex[T any](tx Tx, bucket, index string, entry func(key string, record T) string) error {
	var keys []string
	err := tx.Scan(bucket, "", "", func(k string, raw []byte) error {
		var record T
		if err := json.Unmarshal(raw, &record); err != nil {
			return fmt.Errorf("decode %s/%s: %w", bucket, k, err)
		}
		if ik := entry(k, record); ik != "" {
			keys = append(keys, ik)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Put(index, k, nil); err != nil {
			return err
		}
	}
	return nil
}

// Options configures a Directory. The zero value of each field is a sane
// default.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
	// Samba stores the NT hash of every password set, for SMB clients.
	Samba bool
	// PasswordParams are the argon2id parameters for new hashes.
	PasswordParams password.Params
	Backoff        BackoffConfig
	// SecretKey (32 bytes) encrypts secrets that must be recoverable (TOTP
	// seeds, signing keys). It must be kept outside the store.
	SecretKey []byte
	// AuditRetention is how long audit events are kept (default 90 days).
	AuditRetention time.Duration
	// MFA is the second-factor policy (see MFARequired).
	MFA MFAPolicy
}

// Directory is the one source of truth for users, groups and bind accounts.
// All its methods are safe for concurrent use.
type Directory struct {
	store   Store
	now     func() time.Time
	log     *slog.Logger
	samba   bool
	hasher  *password.Hasher
	backoff *backoff
	audit   *auditWriter
	binds   *bindCache
	box     *secretBox
	// mfaPolicy is fixed for the life of the Directory.
	mfaPolicy MFAPolicy
	// secretsGen counts secret writes (see SecretsGeneration).
	secretsGen atomic.Uint64
}

// New opens a Directory on store, upgrading its schema if it is older than
// this release. It refuses a store written by a newer release.
func New(ctx context.Context, store Store, opt Options) (*Directory, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.PasswordParams == (password.Params{}) {
		opt.PasswordParams = password.DefaultParams
	}
	if opt.AuditRetention <= 0 {
		opt.AuditRetention = 90 * 24 * time.Hour
	}
	d := &Directory{
		store:   nestGuard{store},
		now:     opt.Now,
		log:     opt.Logger,
		samba:   opt.Samba,
		hasher:  &password.Hasher{Params: opt.PasswordParams},
		backoff: newBackoff(opt.Backoff.withDefaults(), opt.Now),
		binds:   newBindCache(opt.Now),

		mfaPolicy: opt.MFA,
	}
	if opt.SecretKey != nil {
		box, err := newSecretBox(opt.SecretKey)
		if err != nil {
			return nil, err
		}
		d.box = box
	}
	if err := store.Update(ctx, migrate); err != nil {
		return nil, fmt.Errorf("prepare store: %w", err)
	}
	d.audit = newAuditWriter(d.store, opt.Logger, opt.Now, opt.AuditRetention)
	d.warnMissingPolicyGroups(ctx)
	return d, nil
}

func migrate(tx Tx) error {
	version := 0
	if raw, err := tx.Get(bMeta, "schema"); err == nil {
		version, _ = strconv.Atoi(string(raw))
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	switch {
	case version == 0:
		version = SchemaVersion // a new store starts at the current layout
	case version > SchemaVersion:
		return fmt.Errorf("store has schema %d, this release knows up to %d: upgrade Atrium", version, SchemaVersion)
	}
	for ; version < SchemaVersion; version++ {
		if err := migrations[version-1](tx); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", version, version+1, err)
		}
	}
	return tx.Put(bMeta, "schema", []byte(strconv.Itoa(version)))
}

// Close flushes the audit log. It does not close the store.
func (d *Directory) Close() error {
	return d.audit.close()
}

// Samba reports whether NT hashes are kept.
func (d *Directory) Samba() bool { return d.samba }

// Now is the directory's clock.
func (d *Directory) Now() time.Time { return d.now() }

// Backup writes a consistent copy of the store to w.
func (d *Directory) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := d.flushAudit(ctx); err != nil {
		return 0, err
	}
	return d.store.Backup(ctx, w)
}

// View runs fn with a Reader that sees one consistent snapshot. Use it for
// several lookups that must agree with each other (an LDAP search, say).
//
// Inside fn, read only through the Reader. fn gets a context marked as
// inside View; name it ctx, so that it hides the caller's. Every Directory
// method given that context refuses with ErrNestedTransaction instead of
// opening a second transaction, which can deadlock the store (see
// nestGuard).
func (d *Directory) View(ctx context.Context, fn func(ctx context.Context, r Reader) error) error {
	return d.store.View(ctx, func(tx Tx) error {
		return fn(context.WithValue(ctx, inViewKey{}, true), Reader{tx})
	})
}

func view[T any](ctx context.Context, d *Directory, fn func(Reader) (T, error)) (T, error) {
	var out T
	err := d.View(ctx, func(_ context.Context, r Reader) error {
		var err error
		out, err = fn(r)
		return err
	})
	return out, err
}
