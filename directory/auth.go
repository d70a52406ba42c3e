package directory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/internal/logsafe"
)

// ErrBadCredentials is every failed login, whatever the reason: the caller
// shows one plain message, and the audit log holds the reason.
var ErrBadCredentials = errors.New("invalid credentials")

// PrincipalKind says who is logging in.
type PrincipalKind int

const (
	KindUser PrincipalKind = iota
	KindBindAccount
)

// Login is one attempt to prove an identity with a secret.
type Login struct {
	Kind     PrincipalKind
	Name     string // a uid or mail address, or a bind account name
	Password string
	Remote   string // client address, for backoff and audit
	// Service is the front end: ldap, web, ... For "ldap", members of the
	// policy's LDAPAppPasswordOnly groups must use an app password.
	Service string
	// AppPasswords accepts a user's app passwords as well (LDAP binds).
	AppPasswords bool
}

// Principal is a proven identity.
type Principal struct {
	Kind    PrincipalKind
	User    User        // when Kind is KindUser
	Account BindAccount // when Kind is KindBindAccount
	// Method is "password", or "app-password:<name>".
	Method string
}

// ID is the entryUUID of the user or bind account.
func (p Principal) ID() string {
	if p.Kind == KindBindAccount {
		return p.Account.ID
	}
	return p.User.ID
}

// Name is the uid or bind account name.
func (p Principal) Name() string {
	if p.Kind == KindBindAccount {
		return p.Account.Name
	}
	return p.User.UID
}

// MethodPassword is the method of a login with the account password.
const MethodPassword = "password"

// dummyHash is verified for unknown names so a failed login takes as long
// whether or not the account exists: it has the cost of new hashes.
func (d *Directory) dummyHash() string {
	d.dummyOnce.Do(func() {
		h, err := d.hasher.Hash("atrium-dummy-password")
		if err != nil {
			panic(err)
		}
		d.dummy = h
	})
	return d.dummy
}

// Authenticate is the one place that decides whether a login succeeds, for
// every front end. It refuses empty passwords and disabled users, accepts
// the password (and app passwords when asked), applies backoff per account,
// per account at a client address (see BackoffConfig), upgrades
// imported hashes, and audits the result.
// Failures are ErrBadCredentials or a *ThrottledError.
func (d *Directory) Authenticate(ctx context.Context, l Login) (Principal, error) {
	p, result, err := d.authenticate(ctx, l)
	if result != "" {
		d.Audit(AuditEvent{Kind: "login", Subject: l.Name, Remote: l.Remote, Service: l.Service, Result: result, Detail: p.Method})
	}
	return p, err
}

func (d *Directory) authenticate(ctx context.Context, l Login) (p Principal, auditResult string, err error) {
	if l.Password == "" || l.Name == "" {
		return Principal{}, ResultNoPassword, ErrBadCredentials
	}
	if err := d.fresh(ctx); err != nil {
		return Principal{}, "", fmt.Errorf("authenticate %s: %w", logsafe.Clip(l.Name), err)
	}
	gen := d.binds.gen()
	var creds credentials
	err = d.View(ctx, func(_ context.Context, r Reader) error {
		var err error
		p.Kind = l.Kind
		if l.Kind == KindBindAccount {
			p.Account, err = r.BindAccount(l.Name)
		} else {
			p.User, err = r.UserByLogin(l.Name)
		}
		if err != nil {
			return err
		}
		creds, err = r.creds(p.ID())
		return err
	})
	subject := "name:" + fold(l.Name)
	if err == nil {
		subject = p.ID()
	} else if !errors.Is(err, ErrNotFound) {
		return Principal{}, "", fmt.Errorf("authenticate %s: %w", logsafe.Clip(l.Name), err)
	}
	if err := d.backoff.check(l.Remote, subject); err != nil {
		return Principal{}, ResultThrottled, err
	}
	if err != nil { // unknown name
		_, _ = password.Verify(d.dummyHash(), l.Password)
		d.backoff.fail(l.Remote, subject)
		return Principal{}, ResultNoSuchUser, ErrBadCredentials
	}

	// Only LDAP binds use the cache: devices bind again and again with one
	// password, while people signing in elsewhere are few and each of their
	// logins belongs in the audit log.
	useCache := l.Service == "ldap"
	method, cached := "", false
	if useCache {
		method, cached = d.binds.lookup(p.ID(), l.Password)
	}
	if !cached {
		method = d.verify(ctx, p, creds, l)
	}
	if method == "" {
		d.backoff.fail(l.Remote, subject)
		return Principal{}, ResultBadPassword, ErrBadCredentials
	}
	if p.Kind == KindUser && p.User.Disabled {
		return Principal{}, ResultDisabled, ErrBadCredentials
	}
	if appOnly := d.MFAPolicy().LDAPAppPasswordOnly; method == MethodPassword && l.Service == "ldap" && p.Kind == KindUser && len(appOnly) > 0 {
		only, err := view(ctx, d, func(r Reader) (bool, error) { return memberOfAny(r, p.ID(), appOnly) })
		if err != nil {
			return Principal{}, "", fmt.Errorf("authenticate %s: %w", logsafe.Clip(l.Name), err)
		}
		if only {
			// The right password, refused by policy: not counted as a guess.
			return Principal{}, ResultAppPasswordOnly, ErrBadCredentials
		}
	}
	d.backoff.succeed(l.Remote, subject)
	p.Method = method
	if p.Kind == KindBindAccount && d.now().Sub(p.Account.LastUsed) > useInterval {
		d.touchBindAccount(ctx, p.Account.ID)
	}
	if cached {
		// A device re-binding within the cache lifetime is not a new login:
		// leave it out of the audit log, which would otherwise fill with it.
		return p, "", nil
	}
	if useCache {
		d.binds.add(gen, p.ID(), l.Password, method)
	}
	return p, ResultOK, nil
}

// verify checks the secret and returns the method that matched, or "".
func (d *Directory) verify(ctx context.Context, p Principal, c credentials, l Login) string {
	if c.Password != "" {
		ok, err := password.Verify(c.Password, l.Password)
		if err != nil {
			d.log.Warn("stored password unusable", "subject", p.Name(), "err", err)
		}
		if ok {
			if password.NeedsUpgrade(c.Password, d.hasher.Params) || (d.samba && p.Kind == KindUser && c.NTSealed == nil) {
				d.upgradeHash(ctx, p, l.Password)
			}
			return MethodPassword
		}
	}
	if l.AppPasswords && p.Kind == KindUser {
		if i := matchAppPassword(c, l.Password); i >= 0 {
			name := c.AppPasswords[i].Name
			if d.now().Sub(c.AppPasswords[i].LastUsed) > useInterval {
				d.touchAppPassword(ctx, p.ID(), name)
			}
			return "app-password:" + name
		}
	}
	return ""
}

// upgradeHash re-hashes a password that verified under an old scheme or old
// parameters. A failure is logged; the login still succeeds.
func (d *Directory) upgradeHash(ctx context.Context, p Principal, pw string) {
	hash, err := d.hasher.Hash(pw)
	if err != nil {
		d.log.Error("password upgrade failed", "subject", p.Name(), "err", err)
		return
	}
	err = d.store.Update(ctx, func(tx Tx) error {
		c, err := Reader{tx: tx}.creds(p.ID())
		if err != nil {
			return err
		}
		c.Password = hash
		if d.samba && p.Kind == KindUser {
			if c.NTSealed, err = d.box.seal(password.NTHash(pw), ntPurpose(p.ID())); err != nil {
				return err
			}
		}
		return putJSON(tx, bCreds, p.ID(), c)
	})
	if err != nil {
		d.log.Error("password upgrade failed", "subject", p.Name(), "err", err)
		return
	}
	d.log.Info("password hash upgraded to argon2id", "subject", p.Name())
}

// touchBindAccount records a bind account's use. A failure is logged; the
// bind still succeeds.
func (d *Directory) touchBindAccount(ctx context.Context, id string) {
	err := d.store.Update(ctx, func(tx Tx) error {
		var a BindAccount
		if err := getJSON(tx, bAccounts, id, &a); err != nil {
			return err
		}
		a.LastUsed = d.now().UTC().Truncate(time.Second)
		return putJSON(tx, bAccounts, id, a)
	})
	if err != nil {
		d.log.Warn("bind account last use not recorded", "err", err)
	}
}

func (d *Directory) touchAppPassword(ctx context.Context, id, name string) {
	err := d.store.Update(ctx, func(tx Tx) error {
		c, err := Reader{tx: tx}.creds(id)
		if err != nil {
			return err
		}
		for i := range c.AppPasswords {
			if c.AppPasswords[i].Name == name {
				c.AppPasswords[i].LastUsed = d.now().UTC().Truncate(time.Second)
			}
		}
		return putJSON(tx, bCreds, id, c)
	})
	if err != nil {
		d.log.Warn("app password last use not recorded", "err", err)
	}
}
