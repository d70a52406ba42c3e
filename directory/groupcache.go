package directory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// groupDecodes remembers decoded group records by their stored bytes. A
// group of hundreds of members is kilobytes of JSON, and LDAP searches for
// a user's groups decode the same few groups over and over; comparing the
// bytes is a hundred times cheaper than decoding them. An entry is used
// only when the bytes read now are identical to the bytes it was decoded
// from, so it can never be stale and needs no invalidation.
var groupDecodes = &decodeCache{m: map[string]cachedGroup{}}

// groupDecodeBudget bounds the stored bytes the cache keeps (the decoded
// records take about as much again); past it the cache starts over.
const groupDecodeBudget = 32 << 20

// groupDecodeMin is the smallest record worth caching: small groups decode
// faster than they compare and copy.
const groupDecodeMin = 1 << 10

type decodeCache struct {
	mu    sync.Mutex
	m     map[string]cachedGroup
	bytes int
}

// cachedGroup is a decoded group, its members packed.
type cachedGroup struct {
	raw     []byte
	g       Group // without Users and Groups
	members Members
}

func newCachedGroup(raw []byte, g Group) cachedGroup {
	c := cachedGroup{raw: bytes.Clone(raw), g: g, members: packMembers(g.Users, g.Groups)}
	c.g.Users, c.g.Groups = nil, nil
	return c
}

// Members are a group's direct members, read without a slice of IDs being
// built for each read.
//
// A large group's IDs are packed into one string rather than kept as a
// string each: the collector then scans a handful of pointers per group
// instead of one per member. Hundreds of thousands of small strings made
// each collection cycle take tens of milliseconds at GOMAXPROCS=1, and a
// slice built per read made cycles frequent; LDAP clients saw both as
// their slowest answers. A small group's lists are kept as decoded.
type Members struct {
	users, groups []string // as decoded, when not packed
	packed        *packedIDs
}

type packedIDs struct {
	ids    string   // the member users' IDs, then the member groups', end to end
	ends   []uint32 // where each ID in ids ends
	nUsers int
}

func packMembers(users, groups []string) Members {
	p := &packedIDs{nUsers: len(users), ends: make([]uint32, 0, len(users)+len(groups))}
	var ids strings.Builder
	for _, id := range slices.Concat(users, groups) {
		ids.WriteString(id)
		p.ends = append(p.ends, uint32(ids.Len()))
	}
	p.ids = ids.String()
	return Members{packed: p}
}

// each calls fn for the IDs numbered from to to until fn returns false.
func (p *packedIDs) each(from, to int, fn func(id string) bool) {
	start := uint32(0)
	if from > 0 {
		start = p.ends[from-1]
	}
	for _, end := range p.ends[from:to] {
		if !fn(p.ids[start:end]) {
			return
		}
		start = end
	}
}

// EachUser calls fn for each member user's ID until fn returns false.
func (m Members) EachUser(fn func(id string) bool) { m.each(true, fn) }

// EachGroup calls fn for each member group's ID until fn returns false.
func (m Members) EachGroup(fn func(id string) bool) { m.each(false, fn) }

func (m Members) each(users bool, fn func(id string) bool) {
	if p := m.packed; p != nil {
		if users {
			p.each(0, p.nUsers, fn)
		} else {
			p.each(p.nUsers, len(p.ends), fn)
		}
		return
	}
	list := m.groups
	if users {
		list = m.users
	}
	for _, id := range list {
		if !fn(id) {
			return
		}
	}
}

// HasUser reports whether the user with this ID is a direct member.
func (m Members) HasUser(id string) bool { return has(m.EachUser, id) }

// HasGroup reports whether the group with this ID is a direct member.
func (m Members) HasGroup(id string) bool { return has(m.EachGroup, id) }

// UserIDs returns the member users' IDs in a slice the caller owns (an
// unpacked list was decoded for this read alone, so it is handed over).
func (m Members) UserIDs() []string {
	if m.packed == nil {
		return m.users
	}
	return collect(m.EachUser)
}

// GroupIDs returns the member groups' IDs in a slice the caller owns.
func (m Members) GroupIDs() []string {
	if m.packed == nil {
		return m.groups
	}
	return collect(m.EachGroup)
}

func has(each func(func(string) bool), want string) bool {
	found := false
	each(func(id string) bool {
		found = id == want
		return !found
	})
	return found
}

func collect(each func(func(string) bool)) []string {
	var out []string
	each(func(id string) bool {
		out = append(out, id)
		return true
	})
	return out
}

// group decodes the group stored as raw under id: the record without its
// member lists, and the members.
func (c *decodeCache) group(id string, raw []byte) (Group, Members, error) {
	if len(raw) < groupDecodeMin {
		var g Group
		err := json.Unmarshal(raw, &g)
		m := Members{users: g.Users, groups: g.Groups}
		g.Users, g.Groups = nil, nil
		return g, m, err
	}
	c.mu.Lock()
	hit, ok := c.m[id]
	c.mu.Unlock()
	if !ok || !bytes.Equal(hit.raw, raw) {
		var g Group
		if err := json.Unmarshal(raw, &g); err != nil {
			return Group{}, Members{}, err
		}
		hit = newCachedGroup(raw, g) // raw lives only as long as the transaction
		c.mu.Lock()
		if c.bytes+len(raw) > groupDecodeBudget {
			c.m, c.bytes = map[string]cachedGroup{}, 0
		}
		if old, dup := c.m[id]; dup {
			c.bytes -= len(old.raw)
		}
		c.m[id] = hit
		c.bytes += len(raw)
		c.mu.Unlock()
	}
	return hit.g, hit.members, nil
}

// getGroup reads a group record; the caller owns it, slices included.
func getGroup(tx Tx, id string) (Group, error) {
	g, m, err := getGroupRef(tx, id)
	if err != nil {
		return Group{}, err
	}
	g.Users, g.Groups = m.UserIDs(), m.GroupIDs()
	return g, nil
}

// getGroupRef reads a group without copying its member lists.
func getGroupRef(tx Tx, id string) (Group, Members, error) {
	raw, err := tx.Get(bGroups, id)
	if err != nil {
		return Group{}, Members{}, err
	}
	g, m, err := groupDecodes.group(id, raw)
	if err != nil {
		return Group{}, Members{}, fmt.Errorf("decode %s/%s: %w", bGroups, id, err)
	}
	return g, m, nil
}
