package directory

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/atrium-dir/atrium/directory/password"
)

// Password is a user's new password, checked and hashed before any
// transaction starts, so that no write waits on argon2id. Make one with
// Directory.NewPassword or HashedPassword.
type Password struct {
	hash string
	nt   []byte
}

// NewPassword checks pw against the policy and hashes it with argon2id,
// with the NT hash when Samba support is on.
func (d *Directory) NewPassword(pw string) (Password, error) {
	if err := d.CheckPasswordPolicy(pw); err != nil {
		return Password{}, err
	}
	hash, err := d.hasher.Hash(pw)
	if err != nil {
		return Password{}, err
	}
	p := Password{hash: hash}
	if d.samba {
		p.nt = password.NTHash(pw)
	}
	return p, nil
}

// HashedPassword is an already hashed password (from an import or an
// admin), stored as it is and upgraded to argon2id at the next login. It is
// parsed first: a malformed hash is refused rather than stored, since no
// password would match it and its user would be locked out.
func HashedPassword(hash string) (Password, error) {
	if err := password.Check(hash); err != nil {
		return Password{}, fmt.Errorf("%w: %w", err, ErrInvalid)
	}
	return Password{hash: hash}, nil
}

// ErrNotPermitted means the one asking may not make this change.
var ErrNotPermitted = errors.New("not permitted")

// ClientPassword makes a password from a value a client sent where a hash
// may stand in for the password (LDAP's userPassword). A value in the
// "{SCHEME}..." form is a hash, which only an admin may give, since the
// policy cannot be checked on it; a user setting their own password sends
// it in clear. Anything else is a cleartext password for NewPassword.
func (d *Directory) ClientPassword(value string, byAdmin bool) (Password, error) {
	if !password.HasScheme(value) {
		return d.NewPassword(value)
	}
	if !byAdmin {
		return Password{}, fmt.Errorf("set your own password in clear, not as a hash, so that the password rules apply: %w", ErrNotPermitted)
	}
	return HashedPassword(value)
}

// SetPassword hashes pw with argon2id and stores it for the user named uid,
// with the NT hash when Samba support is on.
func (d *Directory) SetPassword(ctx context.Context, uid, pw string) error {
	p, err := d.NewPassword(pw)
	if err != nil {
		return err
	}
	return d.storeUserPassword(ctx, uid, p)
}

// SetPasswordHash stores an already hashed password (from an import) as it
// is; it is upgraded to argon2id at the next successful login.
func (d *Directory) SetPasswordHash(ctx context.Context, uid, hash string) error {
	p, err := HashedPassword(hash)
	if err != nil {
		return err
	}
	return d.storeUserPassword(ctx, uid, p)
}

func (d *Directory) storeUserPassword(ctx context.Context, uid string, p Password) error {
	var id string
	err := d.store.Update(ctx, func(tx Tx) error {
		u, err := Reader{tx: tx}.UserByUID(uid)
		if err != nil {
			return err
		}
		id = u.ID
		return setPassword(tx, d.box, d.now().UTC(), u, p)
	})
	if err != nil {
		return fmt.Errorf("set password of %s: %w", uid, err)
	}
	d.binds.forget(id)
	return nil
}

// setPassword stores p as u's password, its NT hash sealed with box, and
// stamps the change on u.
func setPassword(tx Tx, box *secretBox, now time.Time, u User, p Password) error {
	c, err := Reader{tx: tx}.creds(u.ID)
	if err != nil {
		return err
	}
	c.Password, c.NTSealed = p.hash, nil
	if p.nt != nil {
		if c.NTSealed, err = box.seal(p.nt, ntPurpose(u.ID)); err != nil {
			return err
		}
	}
	u.PasswordChanged, u.Modified = now, now
	if err := putJSON(tx, bUsers, u.ID, u); err != nil {
		return err
	}
	return putJSON(tx, bCreds, u.ID, c)
}

// SetBindAccountPassword replaces a bind account's password.
func (d *Directory) SetBindAccountPassword(ctx context.Context, name, pw string) error {
	if err := d.CheckPasswordPolicy(pw); err != nil {
		return err
	}
	hash, err := d.hasher.Hash(pw)
	if err != nil {
		return err
	}
	var id string
	err = d.store.Update(ctx, func(tx Tx) error {
		a, err := Reader{tx: tx}.BindAccount(name)
		if err != nil {
			return err
		}
		id = a.ID
		return putJSON(tx, bCreds, a.ID, credentials{Password: hash})
	})
	if err != nil {
		return fmt.Errorf("set password of bind account %s: %w", name, err)
	}
	d.binds.forget(id)
	return nil
}

// NTHash returns the Samba NT hash of the user with this ID, for callers
// that have checked the reader's right to see it.
func (d *Directory) NTHash(ctx context.Context, id string) ([]byte, error) {
	if err := d.fresh(ctx); err != nil {
		return nil, err
	}
	return view(ctx, d, func(r Reader) ([]byte, error) { return r.NTHash(id) })
}

// NTHash returns the Samba NT hash of the user with this ID (nil when none
// is stored), for callers that have checked the reader's right to see it.
// NT hashes are password equivalents, so they are stored sealed with the
// secrets key; only a Reader from Directory.View can open them.
func (r Reader) NTHash(id string) ([]byte, error) {
	c, err := r.creds(id)
	if err != nil || c.NTSealed == nil {
		return nil, err
	}
	return boxOf(r.tx).open(c.NTSealed, ntPurpose(id))
}

// ntPurpose binds a sealed NT hash to its user.
func ntPurpose(id string) string { return "nt:" + id }

// Secrets are the stored hashes of a user, for a full export.
type Secrets struct {
	PasswordHash string
	NTHash       []byte
}

// UserSecrets returns the stored hashes of the user with this ID.
func (d *Directory) UserSecrets(ctx context.Context, id string) (Secrets, error) {
	return view(ctx, d, func(r Reader) (Secrets, error) { return r.UserSecrets(id) })
}

// UserSecrets returns the stored hashes of the user with this ID.
func (r Reader) UserSecrets(id string) (Secrets, error) {
	c, err := r.creds(id)
	if err != nil {
		return Secrets{}, err
	}
	nt, err := r.NTHash(id)
	return Secrets{PasswordHash: c.Password, NTHash: nt}, err
}

// appPasswordLength gives ~119 bits of randomness. App passwords are
// machine-generated, so a fast hash (SHA-256) is as safe as argon2id for
// them and keeps device binds cheap.
const appPasswordLength = 20

func hashAppPassword(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// AddAppPassword creates a named device password for the user and returns
// the secret, which is never shown again.
func (d *Directory) AddAppPassword(ctx context.Context, uid, name string) (string, error) {
	if name == "" || len(name) > 64 || !utf8.ValidString(name) {
		return "", fmt.Errorf("app password name: 1 to 64 characters: %w", ErrInvalid)
	}
	secret := password.Generate(appPasswordLength)
	err := d.store.Update(ctx, func(tx Tx) error {
		r := Reader{tx: tx}
		u, err := r.UserByUID(uid)
		if err != nil {
			return err
		}
		c, err := r.creds(u.ID)
		if err != nil {
			return err
		}
		for _, ap := range c.AppPasswords {
			if fold(ap.Name) == fold(name) {
				return fmt.Errorf("app password %q: %w", name, ErrAlreadyExists)
			}
		}
		c.AppPasswords = append(c.AppPasswords, appPasswordRec{
			AppPassword: AppPassword{Name: name, Created: d.now().UTC()},
			Hash:        hashAppPassword(secret),
		})
		return putJSON(tx, bCreds, u.ID, c)
	})
	if err != nil {
		return "", fmt.Errorf("add app password for %s: %w", uid, err)
	}
	return secret, nil
}

// AppPasswords lists a user's app passwords, without secrets.
func (d *Directory) AppPasswords(ctx context.Context, uid string) ([]AppPassword, error) {
	return view(ctx, d, func(r Reader) ([]AppPassword, error) {
		u, err := r.UserByUID(uid)
		if err != nil {
			return nil, err
		}
		c, err := r.creds(u.ID)
		out := make([]AppPassword, 0, len(c.AppPasswords))
		for _, ap := range c.AppPasswords {
			out = append(out, ap.AppPassword)
		}
		return out, err
	})
}

// RevokeAppPassword deletes one app password.
func (d *Directory) RevokeAppPassword(ctx context.Context, uid, name string) error {
	var id string
	err := d.store.Update(ctx, func(tx Tx) error {
		r := Reader{tx: tx}
		u, err := r.UserByUID(uid)
		if err != nil {
			return err
		}
		id = u.ID
		c, err := r.creds(u.ID)
		if err != nil {
			return err
		}
		n := len(c.AppPasswords)
		c.AppPasswords = slices.DeleteFunc(c.AppPasswords, func(ap appPasswordRec) bool { return fold(ap.Name) == fold(name) })
		if len(c.AppPasswords) == n {
			return fmt.Errorf("app password %q: %w", name, ErrNotFound)
		}
		return putJSON(tx, bCreds, u.ID, c)
	})
	if err != nil {
		return fmt.Errorf("revoke app password of %s: %w", uid, err)
	}
	d.binds.forget(id)
	return nil
}

// matchAppPassword returns the index of the app password equal to secret.
func matchAppPassword(c credentials, secret string) int {
	h := []byte(hashAppPassword(secret))
	for i, ap := range c.AppPasswords {
		if subtle.ConstantTimeCompare(h, []byte(ap.Hash)) == 1 {
			return i
		}
	}
	return -1
}

// useInterval limits writes of an app password's or a bind account's
// LastUsed to one per interval: a device binds every few minutes.
const useInterval = time.Hour
