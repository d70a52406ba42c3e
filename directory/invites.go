package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// Invites let a person set their own password through a single-use link
// an admin passes on, instead of being told one. The store keeps only the
// token's hash, so a copy of the database holds no live link; a user has at
// most one live invite, and a new one (a password reset) voids the old.

const (
	kindInvite   = "invite"    // hash(token) -> inviteRecord
	kindInviteOf = "invite-of" // user ID -> hash(token) of the user's live invite
)

type inviteRecord struct {
	UserID string `json:"user"`
}

func inviteKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateInvite issues a single-use invite for the user uid that lives for
// ttl, voiding any earlier one, and returns its token: the only time the
// token exists outside the link.
func (d *Directory) CreateInvite(ctx context.Context, uid string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("invite lifetime must be positive: %w", ErrInvalid)
	}
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	key := inviteKey(token)
	expires := d.now().Add(ttl).UTC()
	err := d.store.Update(ctx, func(tx Tx) error {
		u, err := Reader{tx: tx}.UserByUID(uid)
		if err != nil {
			return err
		}
		var old string
		switch err := d.readState(tx, kindInviteOf, u.ID, &old); {
		case err == nil:
			if err := tx.Delete(bState, stateKey(kindInvite, old)); err != nil {
				return err
			}
		case !errors.Is(err, ErrNotFound):
			return err
		}
		if err := putState(tx, kindInvite, key, inviteRecord{UserID: u.ID}, expires); err != nil {
			return err
		}
		return putState(tx, kindInviteOf, u.ID, key, expires)
	})
	if err != nil {
		return "", fmt.Errorf("invite %s: %w", uid, err)
	}
	return token, nil
}

// InviteUser returns the user a live invite is for. A used, voided or
// expired invite, and the invite of a disabled user, is ErrNotFound.
func (d *Directory) InviteUser(ctx context.Context, token string) (User, error) {
	var u User
	err := d.store.View(ctx, func(tx Tx) error {
		var err error
		u, err = d.inviteUser(tx, token)
		return err
	})
	return u, err
}

func (d *Directory) inviteUser(tx Tx, token string) (User, error) {
	var rec inviteRecord
	if err := d.readState(tx, kindInvite, inviteKey(token), &rec); err != nil {
		return User{}, err
	}
	u, err := Reader{tx: tx}.User(rec.UserID)
	if err == nil && u.Disabled {
		return User{}, ErrNotFound
	}
	return u, err
}

// AcceptInvite sets p as the invited user's password and spends the invite
// in one transaction: of two uses of one link only the first succeeds.
func (d *Directory) AcceptInvite(ctx context.Context, token string, p Password) (User, error) {
	var u User
	err := d.store.Update(ctx, func(tx Tx) error {
		var err error
		if u, err = d.inviteUser(tx, token); err != nil {
			return err
		}
		if err := tx.Delete(bState, stateKey(kindInvite, inviteKey(token))); err != nil {
			return err
		}
		if err := tx.Delete(bState, stateKey(kindInviteOf, u.ID)); err != nil {
			return err
		}
		return setPassword(tx, d.box, d.now().UTC(), u, p)
	})
	if err != nil {
		return User{}, fmt.Errorf("accept invite: %w", err)
	}
	d.binds.forget(u.ID)
	return d.UserByID(ctx, u.ID)
}
