package directory

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Users and groups draw their numbers from one range, as FreeIPA's ID range
// does. A user's private group has gidNumber = uidNumber, so no group may
// hold a number that is some user's uidNumber: a number is taken when it is
// either.

// counterID is where the next allocation starts looking.
const counterID = "next.id"

// numberTaken reports whether n is some user's uidNumber or some group's
// gidNumber.
func numberTaken(tx Tx, n int) (bool, error) {
	for _, index := range []string{ixUIDNumber, ixGIDNumber} {
		if _, err := tx.Get(index, numKey(n)); err == nil {
			return true, nil
		} else if !errors.Is(err, ErrNotFound) {
			return false, err
		}
	}
	return false, nil
}

// allocateID returns the lowest free number at or above the counter, and
// advances the counter.
func allocateID(tx Tx) (int, error) {
	n := FirstID
	if raw, err := tx.Get(bMeta, counterID); err == nil {
		n = max(parseNumKey(string(raw)), FirstID)
	}
	for {
		taken, err := numberTaken(tx, n)
		if err != nil {
			return 0, err
		}
		if !taken {
			break
		}
		n++
	}
	return n, tx.Put(bMeta, counterID, []byte(numKey(n+1)))
}

// checkUIDNumber refuses a uidNumber that a group holds: it would be the
// number of the user's private group.
func checkUIDNumber(tx Tx, n int) error {
	id, err := lookup(tx, ixGIDNumber, numKey(n))
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	name, _ := Reader{tx: tx}.Name(id)
	return fmt.Errorf("uidNumber %d is the gidNumber of group %s (users and groups share one range of numbers): %w", n, name, ErrAlreadyExists)
}

// checkGIDNumber refuses a group number that is a user's uidNumber, and so
// the number of that user's private group.
func checkGIDNumber(tx Tx, n int) error {
	id, err := lookup(tx, ixUIDNumber, numKey(n))
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	name, _ := Reader{tx: tx}.Name(id)
	return fmt.Errorf("gidNumber %d is the uidNumber of user %s, and so the number of their private group: %w", n, name, ErrAlreadyExists)
}

// choosePrimaryGroup checks the primary group of u (being written over
// old, nil for a new user) and returns the ID of the chosen group, or ""
// for the user's private group. A gidNumber of 0, or one equal to the
// uidNumber, means the private group; a private group follows its user's
// uidNumber. Any other gidNumber must be a group's, and the user becomes a
// member of it (see joinPrimaryGroup).
func choosePrimaryGroup(tx Tx, old, u *User) (string, error) {
	if u.GIDNumber == 0 || (old != nil && old.GIDNumber == old.UIDNumber && u.GIDNumber == old.GIDNumber) {
		u.GIDNumber = u.UIDNumber
	}
	if u.GIDNumber == u.UIDNumber {
		if gid, err := lookup(tx, ixCN, cnKey(u.UID)); err == nil {
			name, _ := Reader{tx: tx}.Name(gid)
			return "", fmt.Errorf("group %s has the name of user %s's private group; rename the group, or choose a primary group for the user: %w", name, u.UID, ErrAlreadyExists)
		} else if !errors.Is(err, ErrNotFound) {
			return "", err
		}
		return "", nil
	}
	gid, err := lookup(tx, ixGIDNumber, numKey(u.GIDNumber))
	if errors.Is(err, ErrNotFound) {
		return "", fmt.Errorf("no group has gidNumber %d (choose a group, or leave gidNumber out for the user's private group): %w", u.GIDNumber, ErrInvalid)
	}
	return gid, err
}

// joinPrimaryGroup makes the user with this ID a direct member of group
// gid (their primary group), so that a primary group is never a group the
// user is not in.
func joinPrimaryGroup(tx Tx, gid, userID string, u User) error {
	if _, err := tx.Get(ixMemberOf, userID+"/"+gid); err == nil {
		return nil
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	g, err := getGroup(tx, gid)
	if err != nil {
		return err
	}
	if err := addMember(tx, &g, userID, false); err != nil {
		return err
	}
	g.Modified = u.Modified
	return putJSON(tx, bGroups, g.ID, g)
}

// primaryJoins collects the users a batch created, by the primary group
// they chose, so that each group is written once.
type primaryJoins struct {
	groups []string            // group IDs, in the order first chosen
	users  map[string][]string // group ID -> user IDs
}

func (j *primaryJoins) add(groupID, userID string) {
	if j.users == nil {
		j.users = map[string][]string{}
	}
	if _, ok := j.users[groupID]; !ok {
		j.groups = append(j.groups, groupID)
	}
	j.users[groupID] = append(j.users[groupID], userID)
}

// apply adds each collected user not yet in their primary group to it.
// Membership is tested on the index, so a large group costs one pass.
func (j *primaryJoins) apply(tx Tx, now time.Time) error {
	for _, gid := range j.groups {
		var missing []string
		for _, id := range j.users[gid] {
			if _, err := tx.Get(ixMemberOf, id+"/"+gid); errors.Is(err, ErrNotFound) {
				missing = append(missing, id)
			} else if err != nil {
				return err
			}
		}
		if len(missing) == 0 {
			continue
		}
		g, err := getGroup(tx, gid)
		if err != nil {
			return err
		}
		for _, id := range missing {
			if err := tx.Put(ixMemberOf, id+"/"+gid, nil); err != nil {
				return err
			}
		}
		g.Users = append(g.Users, missing...)
		g.Modified = now
		if err := putJSON(tx, bGroups, g.ID, g); err != nil {
			return err
		}
	}
	return nil
}

// checkPrivateGroupName refuses a group name that a user's private group
// has.
func checkPrivateGroupName(tx Tx, cn string) error {
	if strings.Contains(cnKey(cn), " ") {
		return nil // uids have no spaces
	}
	u, err := Reader{tx: tx}.UserByUID(cnKey(cn))
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if u.GIDNumber != u.UIDNumber {
		return nil
	}
	return fmt.Errorf("group name %s is the name of user %s's private group: %w", cn, u.UID, ErrAlreadyExists)
}

// checkNotPrimary refuses to take user userID out of group g while g is
// their primary group.
func checkNotPrimary(tx Tx, g Group, userID string) error {
	if _, err := tx.Get(ixUserGID, numKey(g.GIDNumber)+"/"+userID); errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	name, _ := Reader{tx: tx}.Name(userID)
	return fmt.Errorf("group %s is the primary group of %s; choose another primary group for them first (atrium user set-group): %w", g.CN, name, ErrConflict)
}

// primaryUsers lists the uids of the users whose primary group number is n,
// at most limit of them.
func primaryUsers(tx Tx, n, limit int) ([]string, error) {
	var out []string
	err := tx.Scan(ixUserGID, numKey(n)+"/", "", func(k string, _ []byte) error {
		name, _ := Reader{tx: tx}.Name(k[strings.IndexByte(k, '/')+1:])
		out = append(out, name)
		if len(out) == limit {
			return ErrStop
		}
		return nil
	})
	return out, err
}

// checkNoPrimaryUsers refuses to delete or renumber group g while it is
// some user's primary group.
func checkNoPrimaryUsers(tx Tx, g Group, change string) error {
	users, err := primaryUsers(tx, g.GIDNumber, 3)
	if err != nil || len(users) == 0 {
		return err
	}
	return fmt.Errorf("cannot %s group %s while it is the primary group of %s; choose another primary group for them first (atrium user set-group): %w", change, g.CN, strings.Join(users, ", "), ErrConflict)
}
