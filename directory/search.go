package directory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unsafe"
)

// UserPage is one page of a user search, in uid order.
type UserPage struct {
	Users []UserSummary
	// Next is the uid to pass as after for the next page; "" on the last.
	Next string
}

// maxSearchLimit caps a page.
const maxSearchLimit = 500

// SearchUsers returns up to limit users whose uid, mail or common name
// starts with query (without regard to case), after the uid after, in uid
// order. It walks the uid, mail and common-name indexes and reads only the
// records of the page, so a page costs what its matches' index entries
// cost, not a read of every user.
func (d *Directory) SearchUsers(ctx context.Context, query, after string, limit int) (UserPage, error) {
	limit = min(max(limit, 1), maxSearchLimit)
	var page UserPage
	err := d.store.View(ctx, func(tx Tx) error {
		r := Reader{tx: tx}
		var ids []string
		var err error
		if strings.TrimSpace(query) == "" {
			ids, err = r.uidRange(fold(after), limit+1)
		} else {
			ids, err = r.matchingUIDs(query, fold(after), limit+1)
		}
		if err != nil {
			return err
		}
		if len(ids) > limit {
			ids = ids[:limit]
			defer func() { page.Next = page.Users[len(page.Users)-1].UID }()
		}
		page.Users = make([]UserSummary, 0, len(ids))
		for _, id := range ids {
			u, err := r.userSummary(id)
			if err != nil {
				return err
			}
			page.Users = append(page.Users, u)
		}
		return nil
	})
	return page, err
}

// UserSummary is what a list of users shows of each.
type UserSummary struct {
	ID, UID, Mail string
	// CommonName is User.CommonName.
	CommonName string
	Disabled   bool
}

// userSummary reads the summary of user id. The record is decoded in
// place, without the copy Reader.User makes, and only the summary's
// strings are copied out of the transaction's bytes: a page of fifty users
// then allocates a small part of what fifty whole users would.
func (r Reader) userSummary(id string) (UserSummary, error) {
	raw, err := r.tx.Get(bUsers, id)
	if err != nil {
		return UserSummary{}, err
	}
	var u User
	if err := decodeUserText(raw, unsafe.String(unsafe.SliceData(raw), len(raw)), &u); err != nil {
		return UserSummary{}, fmt.Errorf("decode %s/%s: %w", bUsers, id, err)
	}
	return UserSummary{
		ID: strings.Clone(u.ID), UID: strings.Clone(u.UID), Mail: strings.Clone(u.Mail),
		CommonName: strings.Clone(u.CommonName()), Disabled: u.Disabled,
	}, nil
}

// uidRange lists the IDs of up to n users after uid after, in uid order.
func (r Reader) uidRange(after string, n int) ([]string, error) {
	var ids []string
	err := r.tx.Scan(ixUID, "", after, func(_ string, id []byte) error {
		ids = append(ids, string(id))
		if len(ids) == n {
			return ErrStop
		}
		return nil
	})
	return ids, err
}

// matchingUIDs lists the IDs of up to n users after uid after whose uid,
// mail or common name starts with query, in uid order.
func (r Reader) matchingUIDs(query, after string, n int) ([]string, error) {
	q := []string{query}
	return r.UserIDsWithPrefixes(UserPrefixes{UID: q, Mail: q, CommonName: q}, after, n)
}

// nthSmallest is the nth smallest of the uids (ID -> uid), or "" when
// there are fewer or n is 0: no uid past it can be among the first n.
func nthSmallest(uids map[string]string, n int) string {
	if n == 0 || len(uids) < n {
		return ""
	}
	sorted := slices.Sorted(maps.Values(uids))
	return sorted[n-1]
}

// UserPrefixes are the starts of uids, mails and common names a search
// for users looks for.
type UserPrefixes struct {
	UID, Mail, CommonName []string
}

// UserIDsWithPrefixes returns the IDs of the users after the uid after
// whose uid, mail or common name starts with one of the prefixes given for
// it, without regard to case (nor, for common names, to spaces, as cnKey
// folds them), in uid order: at most n of them, or all when n is 0. It
// reads the uid, mail and common-name indexes and no user record, so it
// costs what the matches' index entries cost. An empty prefix matches
// every user that has the attribute.
func (r Reader) UserIDsWithPrefixes(p UserPrefixes, after string, n int) ([]string, error) {
	after = fold(after)
	uids := map[string]string{} // ID -> folded uid
	for _, q := range p.UID {
		// Past the first n uid matches after `after` none can be listed.
		found := 0
		err := r.tx.Scan(ixUID, fold(q), after, func(k string, id []byte) error {
			uids[string(id)] = k
			if found++; found == n {
				return ErrStop
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	cutoff := nthSmallest(uids, n)
	byID := func(id string) error {
		if _, seen := uids[id]; seen {
			return nil
		}
		uid, err := r.Name(id)
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if uid = fold(uid); cutoff == "" || uid < cutoff {
			uids[id] = uid
		}
		return err
	}
	for _, q := range p.Mail {
		if err := r.tx.Scan(ixMail, fold(q), "", func(_ string, id []byte) error { return byID(string(id)) }); err != nil {
			return nil, err
		}
	}
	for _, q := range p.CommonName {
		err := r.tx.Scan(ixUserCN, cnKey(q), "", func(k string, _ []byte) error {
			return byID(k[strings.LastIndexByte(k, '/')+1:])
		})
		if err != nil {
			return nil, err
		}
	}
	// Sorted as pairs: looking both uids up in the map on every comparison
	// was most of an LDAP search-as-you-type that matches thousands.
	type match struct{ uid, id string }
	matches := make([]match, 0, len(uids))
	for id, uid := range uids {
		if uid > after {
			matches = append(matches, match{uid, id})
		}
	}
	slices.SortFunc(matches, func(a, b match) int {
		return cmp.Or(strings.Compare(a.uid, b.uid), strings.Compare(a.id, b.id))
	})
	if n > 0 {
		matches = matches[:min(len(matches), n)]
	}
	ids := make([]string, len(matches))
	for i, m := range matches {
		ids[i] = m.id
	}
	return ids, nil
}

// GroupIDsWithPrefix calls fn, in name order, with the ID of every group
// whose name starts with prefix, without regard to case or to spaces (as
// cnKey folds them), from the name index; fn returning ErrStop ends the
// walk.
func (r Reader) GroupIDsWithPrefix(prefix string, fn func(id string) error) error {
	return r.tx.Scan(ixCN, cnKey(prefix), "", func(_ string, id []byte) error { return fn(string(id)) })
}

// SearchGroups returns up to limit groups whose name starts with query
// (without regard to case), in name order, from the name index.
func (d *Directory) SearchGroups(ctx context.Context, query string, limit int) ([]Group, error) {
	limit = min(max(limit, 1), maxSearchLimit)
	var out []Group
	err := d.store.View(ctx, func(tx Tx) error {
		r := Reader{tx: tx}
		return r.GroupIDsWithPrefix(query, func(id string) error {
			g, err := r.Group(id)
			if err != nil {
				return err
			}
			out = append(out, g)
			if len(out) == limit {
				return ErrStop
			}
			return nil
		})
	})
	return out, err
}

// MemberOfAny reports whether the user with this ID is in any of the
// groups named cns, directly or through nesting; names of missing groups
// match no one.
func (d *Directory) MemberOfAny(ctx context.Context, userID string, cns []string) (bool, error) {
	var in bool
	err := d.View(ctx, func(ctx context.Context, r Reader) error {
		var err error
		in, err = memberOfAny(r, userID, cns)
		return err
	})
	return in, err
}

// Counts is how many of each kind of record the directory holds.
type Counts struct {
	Users, Groups, BindAccounts, Apps int
}

// Count counts the records of each kind from their name indexes, without
// reading a record.
func (d *Directory) Count(ctx context.Context) (Counts, error) {
	var c Counts
	err := d.store.View(ctx, func(tx Tx) error {
		for _, n := range []struct {
			index string
			into  *int
		}{{ixUID, &c.Users}, {ixCN, &c.Groups}, {ixAccount, &c.BindAccounts}, {ixAppName, &c.Apps}} {
			if err := tx.Scan(n.index, "", "", func(string, []byte) error { *n.into++; return nil }); err != nil {
				return err
			}
		}
		return nil
	})
	return c, err
}
