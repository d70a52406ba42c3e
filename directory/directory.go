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
	"sync"
	"sync/atomic"
	"time"

	"github.com/atrium-dir/atrium/directory/password"
)

// SchemaVersion is the layout of the records this release writes.
const SchemaVersion = 6

// migrations[i] upgrades a store from schema i+1 to i+2. Append, never edit.
// A migration may log what it changed for the admin.
var migrations = []func(Tx, *slog.Logger) error{
	quiet(indexUserCommonNames),    // 1 to 2: ix.usercn
	quiet(reindexGroupCommonNames), // 2 to 3: ix.cn keys fold spaces as well as case
	quiet(indexAuditSubjects),      // 3 to 4: ix.auditby
	repairPrimaryGroups,            // 4 to 5: one range of numbers; no primary group a user is not in
	sealNTHashes,                   // 5 to 6: NT hashes sealed with the secrets key
}

func quiet(m func(Tx) error) func(Tx, *slog.Logger) error {
	return func(tx Tx, _ *slog.Logger) error { return m(tx) }
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
	// seeds, signing keys, NT hashes). It must be kept outside the store,
	// and Samba needs it.
	SecretKey []byte
	// AuditRetention is how long audit events are kept (default 90 days).
	AuditRetention time.Duration
	// MFA is the second-factor policy (see MFARequired); when not zero it
	// sets the MFA and app-password-only fields of Settings.
	MFA MFAPolicy
	// Settings are the run-time settings before the store's and Fixed's:
	// zero fields take the defaults.
	Settings Settings
	// Fixed are the run-time settings the configuration sets, by key
	// (see SettingKeys); they win over the ones an admin stored.
	Fixed map[string]FixedSetting
	// RefusedPasswords are refused as the shipped list of common passwords
	// is (the configuration's password.refused_file).
	RefusedPasswords []string
	// BeforeMigrate, when set, is called before a store older than this
	// release is upgraded, with the schema the store has, so that the
	// caller can copy it aside. An error stops New before anything is
	// written.
	BeforeMigrate func(ctx context.Context, from int) error
	// Instrument, when set, wraps the store that the directory's operations
	// use (metrics time their transactions through the wrapper).
	Instrument func(Store) Store
	// OnAudit, when set, sees every audit event as it is recorded (metrics
	// count logins from them). It must not block.
	OnAudit func(AuditEvent)
	// SyncTimeout bounds the freshness check of a shared store (see
	// Syncer) before a login reads credentials (default 2s).
	SyncTimeout time.Duration
	// RequireFreshLogins refuses logins while a shared store cannot
	// confirm its copy is current, instead of checking them against the
	// last copy.
	RequireFreshLogins bool
}

// Directory is the one source of truth for users, groups and bind accounts.
// All its methods are safe for concurrent use.
type Directory struct {
	store  Store
	now    func() time.Time
	log    *slog.Logger
	samba  bool
	hasher *password.Hasher
	// dummy is a hash of nothing at hasher's cost (see dummyHash).
	dummyOnce sync.Once
	dummy     string
	backoff   *backoff
	audit     *auditWriter
	binds     *bindCache
	box       *secretBox
	// settingsBase are the settings without the stored ones, fixed the
	// keys the configuration sets (to where), settingsNow those in force
	// (see Settings); settingsMu orders their reloads.
	settingsBase Settings
	fixed        map[string]string
	settingsMu   sync.Mutex
	settingsNow  atomic.Pointer[settingsState]
	settingsGen  atomic.Uint64 // changes seen on a shared store
	// refused is Options.RefusedPasswords, lowercase.
	refused map[string]bool
	onAudit func(AuditEvent) // Options.OnAudit, or nil
	// writes counts the transactions that may have written (see Memo).
	writes atomic.Uint64
	// secretsGen counts secret writes (see SecretsGeneration).
	secretsGen atomic.Uint64
	// syncer is a shared store's freshness check (nil for bbolt).
	syncer       Syncer
	syncTimeout  time.Duration
	requireFresh bool
	staleUntil   atomic.Int64 // see staleRetry
	writeLimit   int          // see WriteLimiter; 0: none
	// sharedBackoff shares backoff counters on a shared store (else nil).
	sharedBackoff *sharedBackoff
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
		now:     opt.Now,
		log:     opt.Logger,
		samba:   opt.Samba,
		hasher:  &password.Hasher{Params: opt.PasswordParams},
		backoff: newBackoff(opt.Backoff.withDefaults(), opt.Now),
		binds:   newBindCache(opt.Now),

		refused: refusedSet(opt.RefusedPasswords),
		onAudit: opt.OnAudit,

		syncTimeout:  opt.SyncTimeout,
		requireFresh: opt.RequireFreshLogins,
	}
	d.store = nestGuard{opt.instrument(store), &d.writes}
	if d.syncTimeout <= 0 {
		d.syncTimeout = DefaultSyncTimeout
	}
	if opt.SecretKey != nil {
		box, err := newSecretBox(opt.SecretKey)
		if err != nil {
			return nil, err
		}
		d.box = box
	}
	if d.samba && d.box == nil {
		return nil, fmt.Errorf("samba support needs a secrets key, which seals the NT hashes: %w", ErrNoSecretKey)
	}
	if err := d.initSettings(opt); err != nil {
		return nil, err
	}
	if err := upgrade(ctx, store, opt, d.box); err != nil {
		return nil, fmt.Errorf("prepare store: %w", err)
	}
	d.writeLimit = writeLimit(store)
	d.audit = newAuditWriter(d.store, opt.Logger, opt.Now, opt.AuditRetention, d.writeLimit)
	d.watchShared(store)
	if err := d.reloadSettings(ctx); err != nil {
		return nil, err
	}
	d.warnMissingPolicyGroups(ctx)
	return d, nil
}

// instrument wraps the store the directory's operations use. New keeps
// the bare store for everything else: a wrapper hides the optional
// interfaces a store may have.
func (opt Options) instrument(store Store) Store {
	if opt.Instrument == nil {
		return store
	}
	return opt.Instrument(store)
}

// ErrNewerSchema means the store was written by a newer release of Atrium.
// New refuses it before writing anything.
var ErrNewerSchema = errors.New("the database was written by a newer release of Atrium")

// StoredSchema is the schema of the records in store: 0 for a new store.
func StoredSchema(ctx context.Context, store Store) (int, error) {
	var version int
	err := store.View(ctx, func(tx Tx) error {
		var err error
		version, err = readSchema(tx)
		return err
	})
	return version, err
}

func readSchema(tx Tx) (int, error) {
	raw, err := tx.Get(bMeta, "schema")
	if errors.Is(err, ErrNotFound) {
		return 0, nil
	} else if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(raw))
}

func newerSchema(version int) error {
	return fmt.Errorf("%w (schema %d; this release reads up to %d): run that release or a later one, or restore a backup taken before the upgrade", ErrNewerSchema, version, SchemaVersion)
}

// upgrade refuses a newer store in a read-only transaction, so that its
// file is not written, and gives opt.BeforeMigrate its turn before an
// older store is migrated.
func upgrade(ctx context.Context, store Store, opt Options, box *secretBox) error {
	version, err := StoredSchema(ctx, store)
	switch {
	case err != nil:
		return fmt.Errorf("read schema version: %w", err)
	case version > SchemaVersion:
		return newerSchema(version)
	case version > 0 && version < SchemaVersion && opt.BeforeMigrate != nil:
		if err := opt.BeforeMigrate(ctx, version); err != nil {
			return fmt.Errorf("before migrating schema %d: %w", version, err)
		}
	}
	return store.Update(ctx, func(tx Tx) error { return migrate(boxTx{tx, box}, opt.Logger) })
}

func migrate(tx Tx, log *slog.Logger) error {
	version, err := readSchema(tx)
	switch {
	case err != nil:
		return fmt.Errorf("read schema version: %w", err)
	case version == 0:
		version = SchemaVersion // a new store starts at the current layout
	case version > SchemaVersion:
		return newerSchema(version)
	}
	for ; version < SchemaVersion; version++ {
		if err := migrations[version-1](tx, log); err != nil {
			return fmt.Errorf("migrate schema %d to %d: %w", version, version+1, err)
		}
	}
	return tx.Put(bMeta, "schema", []byte(strconv.Itoa(version)))
}

// Close flushes the audit log. It does not close the store.
func (d *Directory) Close() error {
	if d.sharedBackoff != nil {
		d.sharedBackoff.close()
	}
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
		return fn(context.WithValue(ctx, inViewKey{}, true), Reader{boxTx{tx, d.box}, d.now})
	})
}

// FreshView is View for reads that decide who gets in (a session and its
// user): on a shared store it first catches up with the other nodes'
// writes, as State does.
func (d *Directory) FreshView(ctx context.Context, fn func(ctx context.Context, r Reader) error) error {
	if err := d.fresh(ctx); err != nil {
		return err
	}
	return d.View(ctx, fn)
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
