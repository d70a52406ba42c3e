package directory

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"
)

// ParseRights reads rights such as "read,samba"; unknown names are invalid.
func ParseRights(names []string) ([]Right, error) {
	var out []Right
	for _, n := range names {
		r := Right(n)
		if !slices.Contains(AllRights, r) {
			return nil, fmt.Errorf("right %q: choose from read, samba, admin: %w", n, ErrInvalid)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// CreateBindAccount adds a bind account with a password (hashed here).
func (d *Directory) CreateBindAccount(ctx context.Context, name string, rights []Right, pw string) (BindAccount, error) {
	if !ValidGroupName(name) {
		return BindAccount{}, fmt.Errorf("bind account name %q: %w", name, ErrInvalid)
	}
	if len(rights) == 0 {
		rights = []Right{RightRead}
	}
	if pw == "" {
		return BindAccount{}, fmt.Errorf("a bind account needs a password: %w", ErrInvalid)
	}
	hash, err := d.hasher.Hash(pw)
	if err != nil {
		return BindAccount{}, err
	}
	now := d.now().UTC()
	a := BindAccount{ID: uuid.NewString(), Name: name, Rights: rights, Created: now, Modified: now}
	err = d.store.Update(ctx, func(tx Tx) error {
		if err := claim(tx, ixAccount, fold(name), a.ID, "bind account"); err != nil {
			return err
		}
		if err := putJSON(tx, bAccounts, a.ID, a); err != nil {
			return err
		}
		return putJSON(tx, bCreds, a.ID, credentials{Password: hash})
	})
	if err != nil {
		return BindAccount{}, fmt.Errorf("create bind account %s: %w", name, err)
	}
	d.log.Info("bind account created", "name", name, "rights", rights)
	return a, nil
}

// BindAccount finds a bind account by name.
func (d *Directory) BindAccount(ctx context.Context, name string) (BindAccount, error) {
	return view(ctx, d, func(r Reader) (BindAccount, error) { return r.BindAccount(name) })
}

// ListBindAccounts returns every bind account in name order.
func (d *Directory) ListBindAccounts(ctx context.Context) ([]BindAccount, error) {
	return view(ctx, d, func(r Reader) ([]BindAccount, error) {
		var out []BindAccount
		return out, r.BindAccounts(func(a BindAccount) error {
			out = append(out, a)
			return nil
		})
	})
}

// DeleteBindAccount removes a bind account and its password.
func (d *Directory) DeleteBindAccount(ctx context.Context, name string) error {
	var id string
	err := d.store.Update(ctx, func(tx Tx) error {
		a, err := Reader{tx: tx}.BindAccount(name)
		if err != nil {
			return err
		}
		id = a.ID
		for _, del := range [][2]string{{ixAccount, fold(a.Name)}, {bAccounts, a.ID}, {bCreds, a.ID}} {
			if err := tx.Delete(del[0], del[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete bind account %s: %w", name, err)
	}
	d.binds.forget(id)
	return nil
}
