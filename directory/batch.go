package directory

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Batch is a set of changes made in one store transaction: an import, an
// LDAP add or modify that sets a password too, the first start. When any
// change fails, none is kept, so no crash or refused step leaves half of
// one. Records created through a Batch keep the IDs, numbers and times they
// are given. A Batch must not be used after the function given to
// Directory.Batch returns.
type Batch struct {
	d                      *Directory
	tx                     Tx
	now                    time.Time
	users, groups, updates int
	passwords              []string // IDs whose cached binds must go
	secrets                bool     // a secret was written
	joins                  primaryJoins
}

// Batch runs fn in one transaction. Every change fn makes through the Batch
// is kept if fn returns nil, and none if fn returns an error.
func (d *Directory) Batch(ctx context.Context, fn func(*Batch) error) error {
	return d.batch(ctx, false, fn)
}

// BulkBatch is Batch for a change of many records (an import): the writes
// are held in memory and reach the store in key order when fn returns,
// which a B+tree takes far faster than keys in random order.
func (d *Directory) BulkBatch(ctx context.Context, fn func(*Batch) error) error {
	return d.batch(ctx, true, fn)
}

func (d *Directory) batch(ctx context.Context, sorted bool, fn func(*Batch) error) error {
	var b *Batch
	update := d.store.Update
	if g, ok := d.store.(nestGuard); ok && sorted {
		update = g.bulkUpdate
	}
	err := update(ctx, func(tx Tx) error {
		var buf *sortedTx
		if sorted {
			buf = newSortedTx(tx)
			tx = buf
		}
		b = &Batch{d: d, tx: tx, now: d.now().UTC()}
		if err := fn(b); err != nil {
			return err
		}
		if err := b.joins.apply(tx, b.now); err != nil || buf == nil {
			return err
		}
		return buf.flush()
	})
	if err != nil {
		return err
	}
	for _, id := range b.passwords {
		d.binds.forget(id)
	}
	if b.secrets {
		d.secretsGen.Add(1)
	}
	d.log.Info("batch applied", "users", b.users, "groups", b.groups, "updates", b.updates, "passwords", len(b.passwords))
	return nil
}

// Reader sees the directory as the batch has changed it so far.
func (b *Batch) Reader() Reader { return Reader{b.tx, b.d.now} }

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
	// As addMember for each, with the members in a set: a list search per
	// member was quadratic in the size of the group.
	in := make(map[string]bool, len(stored.Users)+len(g.Users))
	for _, id := range stored.Users {
		in[id] = true
	}
	for _, id := range g.Users {
		if in[id] {
			continue
		}
		if _, err := b.tx.Get(bUsers, id); err != nil {
			return fmt.Errorf("add users to %s: member user %s: %w", g.CN, id, err)
		}
		in[id] = true
		stored.Users = append(stored.Users, id)
		if err := b.tx.Put(ixMemberOf, id+"/"+g.ID, nil); err != nil {
			return fmt.Errorf("add users to %s: %w", g.CN, err)
		}
	}
	if len(stored.Users) == len(g.Users) {
		stored.Users = g.Users
	}
	stored.Modified = g.Modified
	return putJSON(b.tx, bGroups, stored.ID, stored)
}

// UpdateUser changes the user named uid as Directory.UpdateUser does.
func (b *Batch) UpdateUser(uid string, fn func(*User) error) (User, error) {
	u, err := updateUser(b.tx, b.now, uid, fn)
	if err != nil {
		return User{}, fmt.Errorf("update user %s: %w", uid, err)
	}
	b.updates++
	return u, nil
}

// SetPassword stores p for the user with this ID as Directory.SetPassword
// does, stamping the change on the user.
func (b *Batch) SetPassword(id string, p Password) error {
	u, err := Reader{tx: b.tx}.User(id)
	if err == nil {
		err = setPassword(b.tx, b.d.box, b.now, u, p)
	}
	if err != nil {
		return fmt.Errorf("set password of %s: %w", id, err)
	}
	b.passwords = append(b.passwords, id)
	return nil
}

// UpdateApp changes the app called name as Directory.UpdateApp does.
func (b *Batch) UpdateApp(name string, fn func(*App) error) (App, error) {
	a, err := updateApp(b.tx, b.now, name, fn)
	if err != nil {
		return App{}, fmt.Errorf("update app %s: %w", name, err)
	}
	b.updates++
	return a, nil
}

// PutSecrets stores secrets as Directory.PutSecrets does.
func (b *Batch) PutSecrets(values map[string][]byte) error {
	sealed, err := b.d.sealSecrets(values)
	if err != nil {
		return err
	}
	b.secrets = true
	return putSealed(b.tx, sealed)
}

// SetPasswordHash stores an already hashed password for the user with this
// ID. Unlike Directory.SetPasswordHash it leaves the user record alone, so
// an import keeps the Modified and PasswordChanged times it was given.
func (b *Batch) SetPasswordHash(id, hash string) error {
	p, err := HashedPassword(hash)
	if err != nil {
		return fmt.Errorf("set password of %s: %w", id, err)
	}
	if _, err := b.tx.Get(bUsers, id); err != nil {
		return fmt.Errorf("set password of %s: %w", id, err)
	}
	c, err := Reader{tx: b.tx}.creds(id)
	if err != nil {
		return err
	}
	c.Password, c.NTSealed = p.hash, nil
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
