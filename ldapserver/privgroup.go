package ldapserver

import (
	"errors"
	"strconv"
	"strings"

	"github.com/atrium-dir/atrium/directory"
)

// Private groups (see directory.User.PrivateGroup) are derived from users,
// so they are found through the user indexes: an entry of kindPrivateGroup
// carries the user's ID, and its entryUUID is the group's own.

// privateGroupEntry builds the entry of u's private group g, with only
// the attributes in only (nil for all).
func (t *tree) privateGroupEntry(g directory.Group, u directory.User, only attrSet) *entry {
	e := t.groupEntry(g, []string{t.layout.UserDN(u.UID)}, []string{u.UID}, nil, only)
	e.kind, e.id = kindPrivateGroup, u.ID
	return e
}

// loadPrivateGroup builds the private group of the user with this ID; ok
// is false when the user is gone or has a chosen primary group.
func (v *view) loadPrivateGroup(userID string) (*entry, bool, error) {
	u, err := v.user(userID)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	g, ok, err := v.r.PrivateGroup(u)
	if err != nil || !ok {
		return nil, false, err
	}
	return v.b.tree.privateGroupEntry(g, u, v.only), true, nil
}

// privateGroups calls fn with the entry of every private group.
func (v *view) privateGroups(at *cursor, fn func(*entry) error) error {
	return v.r.Users(at.key, func(u directory.User) error {
		at.key = u.UID
		g, ok, err := v.r.PrivateGroup(u)
		if err != nil || !ok {
			return err
		}
		return fn(v.b.tree.privateGroupEntry(g, u, v.only))
	})
}

// privateGroupOf returns the user ID that names the private group of the
// user with this ID, if the user has one.
func (v *view) privateGroupOf(userID string) []string {
	u, err := v.user(userID)
	if !v.exists(err) {
		return nil
	}
	if _, ok, err := v.r.PrivateGroup(u); !v.exists(err) || !ok {
		return nil
	}
	return []string{userID}
}

// privateGroupCandidates answers candidates for an equality on attribute
// name (canonical) among private groups, from the user indexes.
func (v *view) privateGroupCandidates(name, value string) ([]string, bool) {
	found := func(_ directory.Group, u directory.User, err error) ([]string, bool) {
		if !v.exists(err) {
			return nil, false
		}
		return []string{u.ID}, false
	}
	switch name {
	case "cn":
		return found(v.r.PrivateGroupByCN(value))
	case "gidNumber":
		n, err := strconv.Atoi(strings.TrimSpace(value))
		if err != nil {
			return nil, false
		}
		return found(v.r.PrivateGroupByGIDNumber(n))
	case "memberUid":
		id, ok := v.memberUID(value)
		if !ok {
			return nil, false
		}
		return v.privateGroupOf(id), false
	case "member", "uniqueMember":
		target, ok := v.resolve(value)
		if !ok || target.kind != kindUser {
			return nil, false
		}
		return v.privateGroupOf(target.id), false
	case "entryUUID":
		return found(v.r.PrivateGroupByID(strings.ToLower(strings.TrimSpace(value))))
	case "memberOf":
		return nil, false // a private group is in no group
	}
	return nil, true
}
