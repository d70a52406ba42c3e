package directory

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

var cnPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$`)

// ValidGroupName reports whether cn is an acceptable group name.
func ValidGroupName(cn string) bool { return cnPattern.MatchString(cn) && cn[len(cn)-1] != ' ' }

// MemberRef names a member to add or remove: a user by uid, or a group by cn.
type MemberRef struct {
	Group bool
	Name  string
}

func (m MemberRef) String() string {
	if m.Group {
		return "group:" + m.Name
	}
	return m.Name
}

// ParseMemberRef reads "uid" or "group:cn".
func ParseMemberRef(s string) MemberRef {
	if name, ok := strings.CutPrefix(s, "group:"); ok {
		return MemberRef{Group: true, Name: name}
	}
	return MemberRef{Name: s}
}

// CreateGroup adds a group; its gidNumber is allocated when zero. Members
// given in g.Users and g.Groups must exist.
func (d *Directory) CreateGroup(ctx context.Context, g Group) (Group, error) {
	var created Group
	err := d.store.Update(ctx, func(tx Tx) error {
		var err error
		// g stays as given: on etcd fn runs again after a conflict.
		created, err = createGroup(tx, d.now().UTC(), g)
		return err
	})
	if err != nil {
		return Group{}, fmt.Errorf("create group %s: %w", g.CN, err)
	}
	d.log.Info("group created", "cn", created.CN, "id", created.ID)
	return created, nil
}

// addMember adds memberID to g (not yet written) and to the index. A group
// that would contain itself, directly or through nesting, is refused.
func addMember(tx Tx, g *Group, memberID string, isGroup bool) error {
	list := &g.Users
	if isGroup {
		list = &g.Groups
		if memberID == g.ID {
			return fmt.Errorf("group %s cannot contain itself: %w", g.CN, ErrConflict)
		}
		ancestors, err := Reader{tx: tx}.EffectiveGroupIDs(g.ID)
		if err != nil {
			return err
		}
		if slices.Contains(ancestors, memberID) {
			return fmt.Errorf("adding that group to %s would make a cycle: %w", g.CN, ErrConflict)
		}
		if _, err := tx.Get(bGroups, memberID); err != nil {
			return fmt.Errorf("member group %s: %w", memberID, err)
		}
	} else if _, err := tx.Get(bUsers, memberID); err != nil {
		return fmt.Errorf("member user %s: %w", memberID, err)
	}
	if slices.Contains(*list, memberID) {
		return nil
	}
	*list = append(*list, memberID)
	return tx.Put(ixMemberOf, memberID+"/"+g.ID, nil)
}

func removeMember(tx Tx, g *Group, memberID string) error {
	g.Users = slices.DeleteFunc(g.Users, func(id string) bool { return id == memberID })
	g.Groups = slices.DeleteFunc(g.Groups, func(id string) bool { return id == memberID })
	return tx.Delete(ixMemberOf, memberID+"/"+g.ID)
}

// removeFromAllGroups takes memberID out of every group it is directly in.
func removeFromAllGroups(tx Tx, memberID string, now time.Time) error {
	parents, err := Reader{tx: tx}.DirectGroupIDs(memberID)
	if err != nil {
		return err
	}
	return removeFromGroups(tx, memberID, parents, now)
}

// removeFromGroups takes memberID out of each group in parents.
func removeFromGroups(tx Tx, memberID string, parents []string, now time.Time) error {
	r := Reader{tx: tx}
	for _, pid := range parents {
		p, err := r.Group(pid)
		if err != nil {
			return err
		}
		if err := removeMember(tx, &p, memberID); err != nil {
			return err
		}
		p.Modified = now
		if err := putJSON(tx, bGroups, p.ID, p); err != nil {
			return err
		}
	}
	return nil
}

func resolveMember(r Reader, m MemberRef) (id string, err error) {
	if m.Group {
		g, err := r.GroupByCN(m.Name)
		if err != nil {
			return "", fmt.Errorf("group %s: %w", m.Name, err)
		}
		return g.ID, nil
	}
	u, err := r.UserByUID(m.Name)
	if err != nil {
		return "", fmt.Errorf("user %s: %w", m.Name, err)
	}
	return u.ID, nil
}

// ChangeMembers adds and removes members of group cn in one transaction.
// Every member named must exist; a cycle is refused.
func (d *Directory) ChangeMembers(ctx context.Context, cn string, add, remove []MemberRef) (Group, error) {
	var out Group
	err := d.store.Update(ctx, func(tx Tx) error {
		r := Reader{tx: tx}
		g, err := r.GroupByCN(cn)
		if err != nil {
			return err
		}
		for _, m := range remove {
			id, err := resolveMember(r, m)
			if err != nil {
				return err
			}
			if err := checkNotPrimary(tx, g, id); err != nil {
				return err
			}
			if err := removeMember(tx, &g, id); err != nil {
				return err
			}
		}
		for _, m := range add {
			id, err := resolveMember(r, m)
			if err != nil {
				return err
			}
			if err := addMember(tx, &g, id, m.Group); err != nil {
				return err
			}
		}
		g.Modified = d.now().UTC()
		out = g
		return putJSON(tx, bGroups, g.ID, g)
	})
	if err != nil {
		return Group{}, fmt.Errorf("change members of %s: %w", cn, err)
	}
	return out, nil
}

// UpdateGroup changes group cn in one transaction. fn may change the name,
// description, gidNumber and the member lists; members are re-validated.
func (d *Directory) UpdateGroup(ctx context.Context, cn string, fn func(*Group) error) (Group, error) {
	var out Group
	err := d.store.Update(ctx, func(tx Tx) error {
		old, err := Reader{tx: tx}.GroupByCN(cn)
		if err != nil {
			return err
		}
		g := old
		g.Users, g.Groups = slices.Clone(old.Users), slices.Clone(old.Groups)
		if err := fn(&g); err != nil {
			return err
		}
		g.ID, g.Created, g.Modified = old.ID, old.Created, d.now().UTC()
		if !ValidGroupName(g.CN) || g.GIDNumber <= 0 {
			return fmt.Errorf("group name %q or gidNumber %d: %w", g.CN, g.GIDNumber, ErrInvalid)
		}
		if cnKey(g.CN) != cnKey(old.CN) {
			if err := checkPrivateGroupName(tx, g.CN); err != nil {
				return err
			}
			if err := claim(tx, ixCN, cnKey(g.CN), g.ID, "group"); err != nil {
				return err
			}
			if err := tx.Delete(ixCN, cnKey(old.CN)); err != nil {
				return err
			}
		}
		if g.CN != old.CN {
			if err := tx.Put(ixName, g.ID, []byte(g.CN)); err != nil {
				return err
			}
		}
		if g.GIDNumber != old.GIDNumber {
			if err := checkNoPrimaryUsers(tx, old, "renumber"); err != nil {
				return err
			}
			if err := checkGIDNumber(tx, g.GIDNumber); err != nil {
				return err
			}
			if err := claim(tx, ixGIDNumber, numKey(g.GIDNumber), g.ID, "gidNumber"); err != nil {
				return err
			}
			if err := tx.Delete(ixGIDNumber, numKey(old.GIDNumber)); err != nil {
				return err
			}
		}
		wantUsers, wantGroups := g.Users, g.Groups
		g.Users, g.Groups = old.Users, old.Groups
		for _, id := range slices.Concat(old.Users, old.Groups) {
			if !slices.Contains(wantUsers, id) && !slices.Contains(wantGroups, id) {
				if err := checkNotPrimary(tx, old, id); err != nil {
					return err
				}
				if err := removeMember(tx, &g, id); err != nil {
					return err
				}
			}
		}
		for _, id := range wantUsers {
			if err := addMember(tx, &g, id, false); err != nil {
				return err
			}
		}
		for _, id := range wantGroups {
			if err := addMember(tx, &g, id, true); err != nil {
				return err
			}
		}
		out = g
		return putJSON(tx, bGroups, g.ID, g)
	})
	if err != nil {
		return Group{}, fmt.Errorf("update group %s: %w", cn, err)
	}
	return out, nil
}

// DeleteGroup removes a group and every membership that names it.
// On a store that bounds the writes of one Update (etcd), the members of
// a large group are first taken out in chunks (see emptyLargeGroup).
func (d *Directory) DeleteGroup(ctx context.Context, cn string) error {
	if err := d.emptyLargeGroup(ctx, cn); err != nil {
		return fmt.Errorf("delete group %s: %w", cn, err)
	}
	groupID := func(r Reader) (string, error) {
		g, err := r.GroupByCN(cn)
		if err != nil {
			return "", err
		}
		return g.ID, checkNoPrimaryUsers(r.tx, g, "delete")
	}
	if err := d.leaveManyGroups(ctx, groupID); err != nil {
		return fmt.Errorf("delete group %s: %w", cn, err)
	}
	err := d.store.Update(ctx, func(tx Tx) error {
		g, err := Reader{tx: tx}.GroupByCN(cn)
		if err != nil {
			return err
		}
		if err := checkNoPrimaryUsers(tx, g, "delete"); err != nil {
			return err
		}
		if err := removeFromAllGroups(tx, g.ID, d.now().UTC()); err != nil {
			return err
		}
		for _, id := range slices.Concat(g.Users, g.Groups) {
			if err := tx.Delete(ixMemberOf, id+"/"+g.ID); err != nil {
				return err
			}
		}
		for _, del := range [][2]string{{ixCN, cnKey(g.CN)}, {ixGIDNumber, numKey(g.GIDNumber)}, {bGroups, g.ID}, {ixName, g.ID}} {
			if err := tx.Delete(del[0], del[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete group %s: %w", cn, err)
	}
	d.log.Info("group deleted", "cn", cn)
	return nil
}

// emptyLargeGroup takes members out of group cn, one Update of at most
// half the store's write limit each, until the rest fit in the Update
// that deletes the group with its memberships. Each Update removes
// members still in the group, so a delete stopped partway leaves a
// consistent, smaller group, and running it again finishes it.
func (d *Directory) emptyLargeGroup(ctx context.Context, cn string) error {
	chunk := d.writeLimit / 2
	if chunk == 0 {
		return nil
	}
	for more := true; more; {
		err := d.store.Update(ctx, func(tx Tx) error {
			g, err := Reader{tx: tx}.GroupByCN(cn)
			if err != nil {
				return err
			}
			members := slices.Concat(g.Users, g.Groups)
			if more = len(members) > chunk; !more {
				return nil
			}
			if err := checkNoPrimaryUsers(tx, g, "delete"); err != nil {
				return err
			}
			for _, id := range members[:chunk] {
				if err := removeMember(tx, &g, id); err != nil {
					return err
				}
			}
			g.Modified = d.now().UTC()
			return putJSON(tx, bGroups, g.ID, g)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// leaveManyGroups takes a member out of its groups, one Update of at most
// half the store's write limit each (a group's record and the membership
// index entry for each), until the groups left fit in the Update that
// deletes the member. Each Update removes it from groups it is still in,
// so a delete stopped partway leaves it in fewer groups, and running it
// again finishes it. memberID finds the member in each Update.
func (d *Directory) leaveManyGroups(ctx context.Context, memberID func(Reader) (string, error)) error {
	chunk := d.writeLimit / 4
	if chunk == 0 {
		return nil
	}
	for more := true; more; {
		err := d.store.Update(ctx, func(tx Tx) error {
			id, err := memberID(Reader{tx: tx})
			if err != nil {
				return err
			}
			parents, err := Reader{tx: tx}.DirectGroupIDs(id)
			if err != nil {
				return err
			}
			if more = len(parents) > chunk; !more {
				return nil
			}
			return removeFromGroups(tx, id, parents[:chunk], d.now().UTC())
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Group finds a group by cn.
func (d *Directory) Group(ctx context.Context, cn string) (Group, error) {
	return view(ctx, d, func(r Reader) (Group, error) { return r.GroupByCN(cn) })
}

// ListGroups returns every group in cn order.
func (d *Directory) ListGroups(ctx context.Context) ([]Group, error) {
	return view(ctx, d, func(r Reader) ([]Group, error) {
		var out []Group
		return out, r.Groups("", func(g Group) error {
			out = append(out, g)
			return nil
		})
	})
}

// EffectiveGroups lists the groups the user named uid is in, directly or
// through nesting.
func (d *Directory) EffectiveGroups(ctx context.Context, uid string) ([]Group, error) {
	return view(ctx, d, func(r Reader) ([]Group, error) {
		u, err := r.UserByUID(uid)
		if err != nil {
			return nil, err
		}
		return r.EffectiveGroups(u.ID)
	})
}
