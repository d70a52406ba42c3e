package directory

import (
	"context"
	"errors"

	"github.com/google/uuid"
)

// A user without a chosen primary group has a private group (FreeIPA's
// model): a group named after the user, numbered as the user, with the user
// as its only member. It is derived from the user, never stored, so it
// cannot drift from its user; the LDAP tree serves it under ou=groups.

// privateGroupID turns a user's ID into its private group's entryUUID and
// back: it flips the node field, which leaves the version and variant
// alone, so an entryUUID search finds the group without a scan.
func privateGroupID(id string) (string, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", false
	}
	for i := 10; i < 16; i++ {
		u[i] ^= 0xa5
	}
	return u.String(), true
}

// HasPrivateGroup reports whether u's primary group is its private group.
func (u User) HasPrivateGroup() bool { return u.GIDNumber == u.UIDNumber }

// PrivateGroup returns u's private group; ok is false when u has a chosen
// primary group instead. Its entryUUID is derived from the user's, so it
// is the same on every read, and maps back to the user's.
func (u User) PrivateGroup() (g Group, ok bool) {
	if !u.HasPrivateGroup() {
		return Group{}, false
	}
	id, _ := privateGroupID(u.ID)
	return Group{
		ID:        id,
		CN:        u.UID,
		GIDNumber: u.UIDNumber,
		Users:     []string{u.ID},
		Created:   u.Created,
		Modified:  u.Modified,
	}, true
}

// PrivateGroup returns u's private group as the directory serves it: ok is
// false when u has a chosen primary group, or when a stored group holds
// the name (a store older than schema 5 may have one; that group wins).
func (r Reader) PrivateGroup(u User) (Group, bool, error) {
	g, ok := u.PrivateGroup()
	if !ok {
		return Group{}, false, nil
	}
	if _, err := r.GroupIDByCN(u.UID); err == nil {
		return Group{}, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Group{}, false, err
	}
	return g, true, nil
}

// PrivateGroupByCN finds the private group named cn, or ErrNotFound.
func (r Reader) PrivateGroupByCN(cn string) (Group, User, error) {
	u, err := r.UserByUID(cn)
	if err != nil {
		return Group{}, User{}, err
	}
	return r.servedPrivateGroup(u)
}

// PrivateGroupByID finds the private group whose entryUUID is id, or
// ErrNotFound.
func (r Reader) PrivateGroupByID(id string) (Group, User, error) {
	userID, ok := privateGroupID(id)
	if !ok {
		return Group{}, User{}, ErrNotFound
	}
	u, err := r.User(userID)
	if err != nil {
		return Group{}, User{}, err
	}
	return r.servedPrivateGroup(u)
}

// PrivateGroupByGIDNumber finds the private group numbered n, or
// ErrNotFound.
func (r Reader) PrivateGroupByGIDNumber(n int) (Group, User, error) {
	u, err := r.UserByUIDNumber(n)
	if err != nil {
		return Group{}, User{}, err
	}
	return r.servedPrivateGroup(u)
}

func (r Reader) servedPrivateGroup(u User) (Group, User, error) {
	g, ok, err := r.PrivateGroup(u)
	if err == nil && !ok {
		err = ErrNotFound
	}
	return g, u, err
}

// PrivateGroups calls fn for every private group served, in uid order.
func (r Reader) PrivateGroups(fn func(Group, User) error) error {
	return r.Users("", func(u User) error {
		g, ok, err := r.PrivateGroup(u)
		if err != nil || !ok {
			return err
		}
		return fn(g, u)
	})
}

// ListPrivateGroups returns every private group served, in uid order.
func (d *Directory) ListPrivateGroups(ctx context.Context) ([]Group, error) {
	return view(ctx, d, func(r Reader) ([]Group, error) {
		var out []Group
		return out, r.PrivateGroups(func(g Group, _ User) error {
			out = append(out, g)
			return nil
		})
	})
}
