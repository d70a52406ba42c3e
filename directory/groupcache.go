package directory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
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

type cachedGroup struct {
	raw []byte
	g   Group
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
		hit = cachedGroup{}
		if err := json.Unmarshal(raw, &hit.g); err != nil {
			return Group{}, err
		}
		hit.raw = bytes.Clone(raw) // raw lives only as long as the transaction
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
	g := hit.g
	g.Users, g.Groups = slices.Clone(g.Users), slices.Clone(g.Groups)
	return g, nil
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
