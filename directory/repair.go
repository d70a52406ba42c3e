package directory

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
)

// repairPrimaryGroups (schema 4 to 5) brings a store to the rules of
// numbers.go. Before them, every user got gidNumber = uidNumber for a
// private group that did not exist, and groups were numbered from their
// own counter, so a new group took some user's number and became that
// user's primary group without them being in it.
//   - One counter: the next number is past both old counters.
//   - A group whose gidNumber is a user's uidNumber is renumbered from the
//     counter (the number stays the user's private group, as every user
//     was promised). Members whose primary group it was follow it.
//   - A user whose primary group is a group they are not in, or no group,
//     gets their private group.
//
// Each change is logged as a warning: files on hosts keep the old numbers.
func repairPrimaryGroups(tx Tx, log *slog.Logger) error {
	next := FirstID
	for _, k := range []string{"next.uidnumber", "next.gidnumber"} {
		if raw, err := tx.Get(bMeta, k); err == nil {
			next = max(next, parseNumKey(string(raw)))
		}
		if err := tx.Delete(bMeta, k); err != nil {
			return err
		}
	}
	if err := tx.Put(bMeta, counterID, []byte(numKey(next))); err != nil {
		return err
	}
	if err := renumberCollidingGroups(tx, log); err != nil {
		return err
	}
	return repairUserPrimaryGroups(tx, log)
}

// allRecords decodes every record of bucket. A Store need not allow writes
// during a Scan, so the records are gathered first.
func allRecords[T any](tx Tx, bucket string) ([]T, error) {
	var out []T
	err := tx.Scan(bucket, "", "", func(k string, raw []byte) error {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("decode %s/%s: %w", bucket, k, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

func renumberCollidingGroups(tx Tx, log *slog.Logger) error {
	groups, err := allRecords[Group](tx, bGroups)
	if err != nil {
		return err
	}
	for _, g := range groups {
		owner, err := lookup(tx, ixUIDNumber, numKey(g.GIDNumber))
		if errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		n, err := allocateID(tx)
		if err != nil {
			return err
		}
		if err := moveMembersPrimary(tx, g, n, owner); err != nil {
			return err
		}
		oldNumber := g.GIDNumber
		g.GIDNumber = n
		if err := tx.Delete(ixGIDNumber, numKey(oldNumber)); err != nil {
			return err
		}
		if err := tx.Put(ixGIDNumber, numKey(n), []byte(g.ID)); err != nil {
			return err
		}
		if err := putJSON(tx, bGroups, g.ID, g); err != nil {
			return err
		}
		uid, _ := Reader{tx: tx}.Name(owner)
		log.Warn("group renumbered: its gidNumber was a user's uidNumber, the number of that user's private group",
			"cn", g.CN, "old_gid", oldNumber, "new_gid", n, "user", uid)
		if !slices.Contains(g.Users, owner) {
			log.Warn("primary group was a group the user is not in: the user now has their private group",
				"uid", uid, "old_gid", oldNumber, "old_group", g.CN, "new_gid", oldNumber)
		}
	}
	return nil
}

// moveMembersPrimary gives the members of g whose primary group it was
// (other than the user who owns its number) g's new number n.
func moveMembersPrimary(tx Tx, g Group, n int, owner string) error {
	for _, id := range g.Users {
		if id == owner {
			continue
		}
		if _, err := tx.Get(ixUserGID, numKey(g.GIDNumber)+"/"+id); errors.Is(err, ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		var u User
		if err := getJSON(tx, bUsers, id, &u); err != nil {
			return err
		}
		if err := setGIDNumber(tx, u, n); err != nil {
			return err
		}
	}
	return nil
}

func repairUserPrimaryGroups(tx Tx, log *slog.Logger) error {
	users, err := allRecords[User](tx, bUsers)
	if err != nil {
		return err
	}
	for _, u := range users {
		if !u.HasPrivateGroup() {
			in, err := inPrimaryGroup(tx, u)
			if err != nil {
				return err
			}
			if in {
				continue
			}
			log.Warn("primary group was a group the user is not in: the user now has their private group",
				"uid", u.UID, "old_gid", u.GIDNumber, "new_gid", u.UIDNumber)
			if err := setGIDNumber(tx, u, u.UIDNumber); err != nil {
				return err
			}
		}
		if gid, err := lookup(tx, ixCN, cnKey(u.UID)); err == nil {
			name, _ := Reader{tx: tx}.Name(gid)
			log.Warn("private group not served: a group has its name; rename the group or choose a primary group for the user",
				"uid", u.UID, "group", name)
		}
	}
	return nil
}

// inPrimaryGroup reports whether u's gidNumber names a group u is in.
func inPrimaryGroup(tx Tx, u User) (bool, error) {
	gid, err := lookup(tx, ixGIDNumber, numKey(u.GIDNumber))
	if errors.Is(err, ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if _, err := tx.Get(ixMemberOf, u.ID+"/"+gid); errors.Is(err, ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// setGIDNumber rewrites u's gidNumber and its index entry, nothing else.
func setGIDNumber(tx Tx, u User, n int) error {
	if err := tx.Delete(ixUserGID, numKey(u.GIDNumber)+"/"+u.ID); err != nil {
		return err
	}
	u.GIDNumber = n
	if err := tx.Put(ixUserGID, numKey(n)+"/"+u.ID, nil); err != nil {
		return err
	}
	return putJSON(tx, bUsers, u.ID, u)
}
