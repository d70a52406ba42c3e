package directory

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/atrium-dir/atrium/directory/password"
)

// Batch is a set of changes made in one store transaction, for imports and
// restores: records keep the IDs, numbers and times they are given, and
// when anything fails none of the changes is kept. A Batch must not be used
// after the function given to Directory.Batch returns.
type Batch struct {
	tx            Tx
	now           time.Time
	users, groups int
	passwords     []string // IDs whose cached binds must go
	joins         primaryJoins
}

// Batch runs fn in one transaction. Every change fn makes through the Batch
// is kept if fn returns nil, and none if fn returns an error.
func (d *Directory) Batch(ctx context.Context, fn func(*Batch) error) error {
	var b *Batch
	err := d.store.Update(ctx, func(tx Tx) error {
		b = &Batch{tx: tx, now: d.now().UTC()}
		if err := fn(b); err != nil {
			return err
		}
		return b.joins.apply(tx, b.now)
	})
	if err != nil {
		return err
	}
	for _, id := range b.passwords {
		d.binds.forget(id)
	}
	d.log.Info("batch applied", "users", b.users, "groups", b.groups, "passwords", len(b.passwords))
	return nil
}

// Reader sees the directory as the batch has changed it so far.
func (b *Batch) Reader() Reader { return Reader{b.tx} }

// CreateUser adds a user as Directory.CreateUser does, except that the user
// joins a chosen primary group when the batch ends, with the other users of
// the batch that chose it: one write of the group, not one per user.
func (b *Batch) CreateUser(u User) (User, error) {
	u, err := createUser(b.tx, b.now, u, &b.joins)
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", u.UID, err)
	}
	b.users++
	return u, nil
}

// CreateGroup adds a group as Directory.CreateGroup does. Member groups
// must have been created first.
func (b *Batch) CreateGroup(g Group) (Group, error) {
	g, err := createGroup(b.tx, b.now, g)
	if err != nil {
		return Group{}, fmt.Errorf("create group %s: %w", g.CN, err)
	}
	b.groups++
	return g, nil
}

// AddUsers makes g.Users direct members of the stored group g.ID, in that
// order, and gives the group g.Modified: an import adds users to groups
// after creating both, and keeps the times it was given.
func (b *Batch) AddUsers(g Group) error {
	stored, err := getGroup(b.tx, g.ID)
	if err != nil {
		return fmt.Errorf("add users to %s: %w", g.CN, err)
	}
	for _, id := range g.Users {
		if err := addMember(b.tx, &stored, id, false); err != nil {
			return fmt.Errorf("add users to %s: %w", g.CN, err)
		}
	}
	if len(stored.Users) == len(g.Users) {
		stored.Users = g.Users
	}
	stored.Modified = g.Modified
	return putJSON(b.tx, bGroups, stored.ID, stored)
}

// SetPasswordHash stores an already hashed password for the user with this
// ID. Unlike Directory.SetPasswordHash it leaves the user record alone, so
// an import keeps the Modified and PasswordChanged times it was given.
func (b *Batch) SetPasswordHash(id, hash string) error {
	if !password.Recognized(hash) {
		return fmt.Errorf("set password of %s: hash scheme not supported: %w", id, ErrInvalid)
	}
	if _, err := b.tx.Get(bUsers, id); err != nil {
		return fmt.Errorf("set password of %s: %w", id, err)
	}
	c, err := Reader{b.tx}.creds(id)
	if err != nil {
		return err
	}
	c.Password, c.NTHash = hash, nil
	if err := putJSON(b.tx, bCreds, id, c); err != nil {
		return err
	}
	b.passwords = append(b.passwords, id)
	return nil
}

// createUser is CreateUser inside a transaction.
func createUser(tx Tx, now time.Time, u User, joins *primaryJoins) (User, error) {
	if err := u.normalise(); err != nil {
		return u, err
	}
	if u.ID == "" {
		u.ID = uuid.NewString()
	} else if _, err := uuid.Parse(u.ID); err != nil {
		return u, fmt.Errorf("entryUUID %q: %w", u.ID, ErrInvalid)
	}
	if u.Created.IsZero() {
		u.Created = now
	}
	if u.Modified.IsZero() {
		u.Modified = u.Created
	}
	if _, err := tx.Get(bUsers, u.ID); err == nil {
		return u, fmt.Errorf("entryUUID %s: %w", u.ID, ErrAlreadyExists)
	}
	if u.UIDNumber == 0 {
		n, err := allocateID(tx)
		if err != nil {
			return u, err
		}
		u.UIDNumber = n
	}
	return putUser(tx, nil, u, joins)
}

// createGroup is CreateGroup inside a transaction.
func createGroup(tx Tx, now time.Time, g Group) (Group, error) {
	if !ValidGroupName(g.CN) {
		return g, fmt.Errorf("group name %q: use letters, digits, spaces, '.', '_' and '-': %w", g.CN, ErrInvalid)
	}
	if g.GIDNumber < 0 {
		return g, fmt.Errorf("gidNumber must not be negative: %w", ErrInvalid)
	}
	if g.ID == "" {
		g.ID = uuid.NewString()
	} else if _, err := uuid.Parse(g.ID); err != nil {
		return g, fmt.Errorf("entryUUID %q: %w", g.ID, ErrInvalid)
	}
	if g.Created.IsZero() {
		g.Created = now
	}
	if g.Modified.IsZero() {
		g.Modified = g.Created
	}
	if _, err := tx.Get(bGroups, g.ID); err == nil {
		return g, fmt.Errorf("entryUUID %s: %w", g.ID, ErrAlreadyExists)
	}
	if g.GIDNumber == 0 {
		n, err := allocateID(tx)
		if err != nil {
			return g, err
		}
		g.GIDNumber = n
	}
	if err := checkGIDNumber(tx, g.GIDNumber); err != nil {
		return g, err
	}
	if err := checkPrivateGroupName(tx, g.CN); err != nil {
		return g, err
	}
	if err := claim(tx, ixCN, cnKey(g.CN), g.ID, "group"); err != nil {
		return g, err
	}
	if err := claim(tx, ixGIDNumber, numKey(g.GIDNumber), g.ID, "gidNumber"); err != nil {
		return g, err
	}
	if err := tx.Put(ixName, g.ID, []byte(g.CN)); err != nil {
		return g, err
	}
	members := g
	g.Users, g.Groups = nil, nil
	if err := putJSON(tx, bGroups, g.ID, g); err != nil {
		return g, err
	}
	for _, id := range members.Users {
		if err := addMember(tx, &g, id, false); err != nil {
			return g, err
		}
	}
	for _, id := range members.Groups {
		if err := addMember(tx, &g, id, true); err != nil {
			return g, err
		}
	}
	return g, putJSON(tx, bGroups, g.ID, g)
}
