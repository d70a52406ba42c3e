package directory

import (
	"errors"
	"strings"
	"time"
)

// Reader answers questions about the directory inside one snapshot.
type Reader struct {
	tx Tx
	// now is the directory's clock, which decides whether state has
	// expired; Readers made inside the package without one read no state.
	now func() time.Time
}

// User returns the user with this ID (entryUUID).
func (r Reader) User(id string) (User, error) {
	var u User
	return u, getUser(r.tx, id, &u)
}

// UserByUID finds a user by login name, without regard to case.
func (r Reader) UserByUID(uid string) (User, error) { return r.userVia(ixUID, fold(uid)) }

// UserIDByUID finds the ID of a user by uid, without regard to case and
// without reading the record (Name gives the uid as spelt).
func (r Reader) UserIDByUID(uid string) (string, error) { return lookup(r.tx, ixUID, fold(uid)) }

// UserByMail finds a user by mail address, without regard to case.
func (r Reader) UserByMail(mail string) (User, error) { return r.userVia(ixMail, fold(mail)) }

// UserByUIDNumber finds a user by uidNumber.
func (r Reader) UserByUIDNumber(n int) (User, error) {
	if n < 0 {
		return User{}, ErrNotFound
	}
	return r.userVia(ixUIDNumber, numKey(n))
}

// UserByLogin finds a user by uid or, failing that, by mail.
func (r Reader) UserByLogin(name string) (User, error) {
	u, err := r.UserByUID(name)
	if errors.Is(err, ErrNotFound) && strings.Contains(name, "@") {
		return r.UserByMail(name)
	}
	return u, err
}

func (r Reader) userVia(index, key string) (User, error) {
	id, err := lookup(r.tx, index, key)
	if err != nil {
		return User{}, err
	}
	return r.User(id)
}

// Users calls fn for every user in uid order; fn returning ErrStop ends the
// walk. Users after `afterUID` only, when it is not "".
func (r Reader) Users(afterUID string, fn func(User) error) error {
	return r.tx.Scan(ixUID, "", fold(afterUID), func(_ string, id []byte) error {
		u, err := r.User(string(id))
		if err != nil {
			return err
		}
		return fn(u)
	})
}

// UserIDs calls fn with the ID of every user in uid order, from the uid
// index alone, without reading the records; fn returning ErrStop ends the
// walk.
func (r Reader) UserIDs(fn func(id string) error) error {
	return r.tx.Scan(ixUID, "", "", func(_ string, id []byte) error { return fn(string(id)) })
}

// UsersByGIDNumber calls fn for every user whose primary group number is n.
func (r Reader) UsersByGIDNumber(n int, fn func(User) error) error {
	return r.tx.Scan(ixUserGID, numKey(n)+"/", "", func(k string, _ []byte) error {
		u, err := r.User(k[strings.IndexByte(k, '/')+1:])
		if err != nil {
			return err
		}
		return fn(u)
	})
}

// UsersByCommonName calls fn for every user whose common name (see
// User.CommonName) equals cn without regard to case, leading and trailing
// spaces, or the length of inner runs of spaces.
func (r Reader) UsersByCommonName(cn string, fn func(User) error) error {
	prefix := cnKey(cn) + "/"
	return r.tx.Scan(ixUserCN, prefix, "", func(k string, _ []byte) error {
		id := k[len(prefix):]
		if strings.Contains(id, "/") {
			return nil // a longer common name that starts with cn + "/"
		}
		u, err := r.User(id)
		if err != nil {
			return err
		}
		return fn(u)
	})
}

// Group returns the group with this ID.
func (r Reader) Group(id string) (Group, error) { return getGroup(r.tx, id) }

// GroupRef reads a group by ID as Group does, but with its member lists
// left out of the record and given as Members, which a read of a large
// group does not copy.
func (r Reader) GroupRef(id string) (Group, Members, error) { return getGroupRef(r.tx, id) }

// GroupByCN finds a group by name, without regard to case.
func (r Reader) GroupByCN(cn string) (Group, error) {
	id, err := r.GroupIDByCN(cn)
	if err != nil {
		return Group{}, err
	}
	return r.Group(id)
}

// GroupIDByCN finds the ID of a group by name, without reading the record.
func (r Reader) GroupIDByCN(cn string) (string, error) { return lookup(r.tx, ixCN, cnKey(cn)) }

// GroupIDByGIDNumber finds the ID of a group by gidNumber, without reading
// the record.
func (r Reader) GroupIDByGIDNumber(n int) (string, error) {
	if n < 0 {
		return "", ErrNotFound
	}
	return lookup(r.tx, ixGIDNumber, numKey(n))
}

// NumberTaken reports whether n is some user's uidNumber or some group's
// gidNumber: users and groups share one range of numbers.
func (r Reader) NumberTaken(n int) (bool, error) { return numberTaken(r.tx, n) }

// GroupByGIDNumber finds a group by gidNumber.
func (r Reader) GroupByGIDNumber(n int) (Group, error) {
	id, err := r.GroupIDByGIDNumber(n)
	if err != nil {
		return Group{}, err
	}
	return r.Group(id)
}

// Groups calls fn for every group in cn order.
func (r Reader) Groups(afterCN string, fn func(Group) error) error {
	return r.GroupRefs(afterCN, func(g Group, m Members) error {
		g.Users, g.Groups = m.UserIDs(), m.GroupIDs()
		return fn(g)
	})
}

// GroupRefs calls fn for every group in cn order, as GroupRef reads them.
func (r Reader) GroupRefs(afterCN string, fn func(Group, Members) error) error {
	return r.tx.Scan(ixCN, "", cnKey(afterCN), func(_ string, id []byte) error {
		g, m, err := r.GroupRef(string(id))
		if err != nil {
			return err
		}
		return fn(g, m)
	})
}

// DirectGroupIDs lists the groups that memberID (a user or group ID) is a
// direct member of, from the membership index.
func (r Reader) DirectGroupIDs(memberID string) ([]string, error) {
	var ids []string
	err := r.tx.Scan(ixMemberOf, memberID+"/", "", func(k string, _ []byte) error {
		ids = append(ids, k[len(memberID)+1:])
		return nil
	})
	return ids, err
}

// DirectGroups returns the groups memberID is directly in.
func (r Reader) DirectGroups(memberID string) ([]Group, error) {
	ids, err := r.DirectGroupIDs(memberID)
	if err != nil {
		return nil, err
	}
	return r.groupsByID(ids)
}

// EffectiveGroupIDs lists every group memberID belongs to, directly or
// through nesting, by walking the membership index upward.
func (r Reader) EffectiveGroupIDs(memberID string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	queue := []string{memberID}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		ids, err := r.DirectGroupIDs(next)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
				queue = append(queue, id)
			}
		}
	}
	return out, nil
}

// EffectiveGroups returns every group memberID belongs to, nesting included.
func (r Reader) EffectiveGroups(memberID string) ([]Group, error) {
	ids, err := r.EffectiveGroupIDs(memberID)
	if err != nil {
		return nil, err
	}
	return r.groupsByID(ids)
}

// EffectiveUserIDs lists every user in group id, directly or through
// nested groups.
func (r Reader) EffectiveUserIDs(groupID string) ([]string, error) {
	seenGroups := map[string]bool{groupID: true}
	seenUsers := map[string]bool{}
	var out []string
	queue := []string{groupID}
	for len(queue) > 0 {
		g, err := r.Group(queue[0])
		queue = queue[1:]
		if err != nil {
			return nil, err
		}
		for _, u := range g.Users {
			if !seenUsers[u] {
				seenUsers[u] = true
				out = append(out, u)
			}
		}
		for _, sub := range g.Groups {
			if !seenGroups[sub] {
				seenGroups[sub] = true
				queue = append(queue, sub)
			}
		}
	}
	return out, nil
}

func (r Reader) groupsByID(ids []string) ([]Group, error) {
	out := make([]Group, 0, len(ids))
	for _, id := range ids {
		g, err := r.Group(id)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// BindAccount finds a bind account by name, without regard to case.
func (r Reader) BindAccount(name string) (BindAccount, error) {
	id, err := lookup(r.tx, ixAccount, fold(name))
	if err != nil {
		return BindAccount{}, err
	}
	var a BindAccount
	return a, getJSON(r.tx, bAccounts, id, &a)
}

// BindAccounts calls fn for every bind account in name order.
func (r Reader) BindAccounts(fn func(BindAccount) error) error {
	return r.tx.Scan(ixAccount, "", "", func(_ string, id []byte) error {
		var a BindAccount
		if err := getJSON(r.tx, bAccounts, string(id), &a); err != nil {
			return err
		}
		return fn(a)
	})
}

func (r Reader) creds(id string) (credentials, error) {
	var c credentials
	err := getJSON(r.tx, bCreds, id, &c)
	if errors.Is(err, ErrNotFound) {
		return credentials{}, nil
	}
	return c, err
}

// HasPassword reports whether the user or account with this ID has a
// password set.
func (r Reader) HasPassword(id string) (bool, error) {
	c, err := r.creds(id)
	return c.Password != "", err
}

// Name returns the uid of a user or the cn of a group, by ID, without
// reading the whole record.
func (r Reader) Name(id string) (string, error) {
	v, err := r.tx.Get(ixName, id)
	return string(v), err
}
