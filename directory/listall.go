package directory

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// AllGroups returns every stored group in cn order, as Groups would call
// them, read in one pass over the records and then sorted.
func (r Reader) AllGroups() ([]*Group, error) {
	l, err := r.GroupRecords()
	if err != nil {
		return nil, err
	}
	return l.decode(func(raw []byte) string { return string(raw) })
}

// GroupRecords are the group records of one snapshot, read in one pass and
// left undecoded: an export decodes them on another core while it reads
// the users. They are valid only inside the View that read them.
type GroupRecords struct {
	ids  []string
	raws [][]byte
}

// GroupRecords reads every group record.
func (r Reader) GroupRecords() (GroupRecords, error) {
	var l GroupRecords
	err := r.tx.Scan(bGroups, "", "", func(id string, raw []byte) error {
		l.ids, l.raws = append(l.ids, id), append(l.raws, raw)
		return nil
	})
	return l, err
}

// Len is the number of groups.
func (l GroupRecords) Len() int { return len(l.ids) }

// Decode returns the groups in cn order, as AllGroups does, from any
// goroutine. Their strings share the records' bytes: like the records,
// they are valid only inside the View.
func (l GroupRecords) Decode() ([]*Group, error) {
	return l.decode(func(raw []byte) string { return unsafe.String(unsafe.SliceData(raw), len(raw)) })
}

// decode decodes the records, each from text(raw), which the strings of
// its group share.
func (l GroupRecords) decode(text func([]byte) string) ([]*Group, error) {
	var groups blocks[Group]
	for i, raw := range l.raws {
		if err := decodeGroupText(raw, text(raw), groups.next()); err != nil {
			return nil, fmt.Errorf("decode %s/%s: %w", bGroups, l.ids[i], err)
		}
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

// at returns record i.
func (b *blocks[T]) at(i int) *T { return &b.all[i/blockLen][i%blockLen] }

// sorted returns the records sorted by key, computing each key once.
func (b *blocks[T]) sorted(key func(*T) string) []*T {
	type keyed struct {
		key string
		rec *T
	}
	keys := make([]keyed, 0, b.n)
	for i := range b.n {
		rec := b.at(i)
		keys = append(keys, keyed{key(rec), rec})
	}
	slices.SortFunc(keys, func(a, b keyed) int { return strings.Compare(a.key, b.key) })
	out := make([]*T, len(keys))
	for i, k := range keys {
		out[i] = k.rec
	}
	return out
}

// decodeGroupText reads a group record, given also as text, which the
// strings of g share, as putJSON writes it, as decodeUser reads a user's:
// anything the fast path does not expect goes to encoding/json.
func decodeGroupText(raw []byte, text string, g *Group) error {
	var fast Group
	if utf8.ValidString(text) && (&jsonScan{b: text}).group(&fast) {
		*g = fast
		return nil
	}
	return json.Unmarshal(raw, g)
}

func (s *jsonScan) group(g *Group) bool {
	return s.object(func(key string) bool { return s.groupField(g, key) })
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

// UserRecords are the user records of one snapshot in uid order, as Users
// calls them, read in one pass and then sorted (several times faster than
// a lookup per user), and left undecoded: a whole listing (an export)
// decodes each as it goes instead of holding every user at once. They are
// valid only inside the View that read them, and may be decoded from
// several goroutines.
type UserRecords struct {
	recs  blocks[userRecord]
	order []int32 // the records in uid order
}

type userRecord struct {
	key, id string
	raw     []byte
}

// UserRecords reads every user record and sorts them by uid, reading
// only the uid of each when the record starts as the store writes it.
func (r Reader) UserRecords() (UserRecords, error) {
	var l UserRecords
	var u User
	err := r.tx.Scan(bUsers, "", "", func(id string, raw []byte) error {
		uid, ok := leadingUID(raw)
		if !ok {
			if err := decodeUser(raw, &u); err != nil {
				return fmt.Errorf("decode %s/%s: %w", bUsers, id, err)
			}
			uid = u.UID
		}
		*l.recs.next() = userRecord{fold(uid), id, raw}
		return nil
	})
	if err != nil {
		return UserRecords{}, err
	}
	// The uid index is ordered by fold(uid), which is unique. Sorted by
	// the keys' first 8 bytes first: most comparisons then touch no key.
	type ordered struct {
		prefix uint64
		at     int32
	}
	order := make([]ordered, l.recs.n)
	for i := range order {
		var p [8]byte
		copy(p[:], l.rec(int32(i)).key)
		order[i] = ordered{binary.BigEndian.Uint64(p[:]), int32(i)}
	}
	slices.SortFunc(order, func(a, b ordered) int {
		if c := cmp.Compare(a.prefix, b.prefix); c != 0 {
			return c
		}
		return strings.Compare(l.rec(a.at).key, l.rec(b.at).key)
	})
	l.order = make([]int32, len(order))
	for i, o := range order {
		l.order[i] = o.at
	}
	return l, nil
}

func (l *UserRecords) rec(i int32) *userRecord {
	return &l.recs.all[i/blockLen][i%blockLen]
}

// Len is the number of users.
func (l *UserRecords) Len() int { return len(l.order) }

// ID is the ID of user i, without decoding the record.
func (l *UserRecords) ID(i int) string { return l.rec(l.order[i]).id }

// Decode reads user i into u. The strings of u share the record's bytes,
// not a copy of them: like the records, they are valid only inside the
// View (an export writes each user out and forgets it, and copying every
// record was a third of its allocations).
func (l *UserRecords) Decode(i int, u *User) error {
	rec := l.rec(l.order[i])
	if err := decodeUserText(rec.raw, unsafe.String(unsafe.SliceData(rec.raw), len(rec.raw)), u); err != nil {
		return fmt.Errorf("decode %s/%s: %w", bUsers, rec.id, err)
	}
	return nil
}

// leadingUID reads the uid of a record that begins as appendUserJSON
// writes it, {"id":"…","uid":"…", with plain strings; anything else is
// left to decodeUser. (A record with a second "uid" would decode to that
// one; the store writes one.)
func leadingUID(raw []byte) (string, bool) {
	rest, ok := bytes.CutPrefix(raw, []byte(`{"id":"`))
	if !ok {
		return "", false
	}
	_, rest, ok = plainString(rest)
	if !ok {
		return "", false
	}
	if rest, ok = bytes.CutPrefix(rest, []byte(`,"uid":"`)); !ok {
		return "", false
	}
	uid, _, ok := plainString(rest)
	if !ok || !utf8.Valid(uid) {
		return "", false
	}
	return string(uid), true
}

// plainString reads a JSON string's content up to its closing quote, when
// it has no escape or control character.
func plainString(b []byte) (s, rest []byte, ok bool) {
	for i, c := range b {
		switch {
		case c == '"':
			return b[:i], b[i+1:], true
		case c == '\\' || c < 0x20:
			return nil, nil, false
		}
	}
	return nil, nil, false
}
