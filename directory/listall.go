package directory

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// AllUsers returns every user in uid order, as Users would call them, read
// in one pass over the records and then sorted: for a whole listing (an
// export) that is several times faster than one lookup per user. The
// users are not copied again to be sorted, hence the pointers.
func (r Reader) AllUsers() ([]*User, error) {
	var users blocks[User]
	err := r.tx.Scan(bUsers, "", "", func(id string, raw []byte) error {
		if err := decodeUser(raw, users.next()); err != nil {
			return fmt.Errorf("decode %s/%s: %w", bUsers, id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The uid index is ordered by fold(uid), which is unique.
	return users.sorted(func(u *User) string { return fold(u.UID) }), nil
}

// AllGroups returns every stored group in cn order, as Groups would call
// them, read in one pass over the records and then sorted.
func (r Reader) AllGroups() ([]*Group, error) {
	var groups blocks[Group]
	err := r.tx.Scan(bGroups, "", "", func(id string, raw []byte) error {
		if err := decodeGroup(raw, groups.next()); err != nil {
			return fmt.Errorf("decode %s/%s: %w", bGroups, id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return groups.sorted(func(g *Group) string { return cnKey(g.CN) }), nil
}

// blocks collects records in blocks that never move, so that records of a
// few hundred bytes are not copied again and again as a slice grows.
type blocks[T any] struct {
	all [][]T
	n   int
}

const blockLen = 1024

// next returns a zero record at the end.
func (b *blocks[T]) next() *T {
	if b.n%blockLen == 0 {
		b.all = append(b.all, make([]T, blockLen))
	}
	b.n++
	return &b.all[(b.n-1)/blockLen][(b.n-1)%blockLen]
}

// sorted returns the records sorted by key, computing each key once.
func (b *blocks[T]) sorted(key func(*T) string) []*T {
	type keyed struct {
		key string
		rec *T
	}
	keys := make([]keyed, 0, b.n)
	for i := range b.n {
		rec := &b.all[i/blockLen][i%blockLen]
		keys = append(keys, keyed{key(rec), rec})
	}
	slices.SortFunc(keys, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	out := make([]*T, len(keys))
	for i, k := range keys {
		out[i] = k.rec
	}
	return out
}

// decodeGroup reads a group record as putJSON writes it, as decodeUser
// reads a user's: anything the fast path does not expect goes to
// encoding/json.
func decodeGroup(raw []byte, g *Group) error {
	var fast Group
	if utf8.Valid(raw) && (&jsonScan{b: string(raw)}).group(&fast) {
		*g = fast
		return nil
	}
	return json.Unmarshal(raw, g)
}

func (s *jsonScan) group(g *Group) bool {
	if !s.skip('{') {
		return false
	}
	if s.skip('}') {
		return s.end()
	}
	for {
		key, ok := s.str()
		if !ok || !s.skip(':') || !s.groupField(g, key) {
			return false
		}
		if s.skip('}') {
			return s.end()
		}
		if !s.skip(',') {
			return false
		}
	}
}

func (s *jsonScan) groupField(g *Group, key string) bool {
	var ok bool
	switch key {
	case "id":
		g.ID, ok = s.str()
	case "cn":
		g.CN, ok = s.str()
	case "description":
		g.Description, ok = s.str()
	case "gidNumber":
		g.GIDNumber, ok = s.int()
	case "users":
		g.Users, ok = s.strings()
	case "groups":
		g.Groups, ok = s.strings()
	case "created":
		g.Created, ok = s.time()
	case "modified":
		g.Modified, ok = s.time()
	}
	return ok
}
