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

// cachedGroup keeps the member IDs in one string rather than as a string
// each: the collector then scans a handful of pointers per group instead
// of one per member. Hundreds of thousands of small strings made each
// collection cycle take tens of milliseconds at GOMAXPROCS=1, which is
// what LDAP clients saw as their slowest answers.
type cachedGroup struct {
	raw    []byte
	g      Group    // without Users and Groups
	ids    string   // the member users' IDs, then the member groups', end to end
	ends   []uint32 // where each ID in ids ends
	nUsers int
}

func newCachedGroup(raw []byte, g Group) cachedGroup {
	c := cachedGroup{raw: bytes.Clone(raw), nUsers: len(g.Users), ends: make([]uint32, 0, len(g.Users)+len(g.Groups))}
	var ids strings.Builder
	for _, id := range slices.Concat(g.Users, g.Groups) {
		ids.WriteString(id)
		c.ends = append(c.ends, uint32(ids.Len()))
	}
	c.ids = ids.String()
	c.g = g
	c.g.Users, c.g.Groups = nil, nil
	return c
}

// members returns the IDs numbered from to to, nil when there are none.
func (c *cachedGroup) members(from, to int) []string {
	if from == to {
		return nil
	}
	out := make([]string, 0, to-from)
	start := uint32(0)
	if from > 0 {
		start = c.ends[from-1]
	}
	for _, end := range c.ends[from:to] {
		out = append(out, c.ids[start:end])
		start = end
	}
	return out
}

// record returns a copy of the group that the caller owns.
func (c *cachedGroup) record() Group {
	g := c.g
	g.Users, g.Groups = c.members(0, c.nUsers), c.members(c.nUsers, len(c.ends))
	return g
}

// group decodes the group stored as raw under id. The caller owns the
// returned record, slices included.
func (c *decodeCache) group(id string, raw []byte) (Group, error) {
	if len(raw) < groupDecodeMin {
		var g Group
		return g, json.Unmarshal(raw, &g)
	}
	c.mu.Lock()
	hit, ok := c.m[id]
	c.mu.Unlock()
	if !ok || !bytes.Equal(hit.raw, raw) {
		var g Group
		if err := json.Unmarshal(raw, &g); err != nil {
			return Group{}, err
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
	return hit.record(), nil
}

func getGroup(tx Tx, id string) (Group, error) {
	raw, err := tx.Get(bGroups, id)
	if err != nil {
		return Group{}, err
	}
	g, err := groupDecodes.group(id, raw)
	if err != nil {
		return Group{}, fmt.Errorf("decode %s/%s: %w", bGroups, id, err)
	}
	return g, nil
}
