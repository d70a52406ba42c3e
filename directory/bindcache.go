package directory

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// bindCacheTTL is how long a verified credential is remembered.
const bindCacheTTL = 10 * time.Minute

// bindCache remembers credentials that verified recently, so a device that
// binds again and again with the same password pays for argon2id once per
// TTL instead of on every bind. Entries are keyed by HMAC-SHA256, under a
// random key that never leaves the process, of (principal ID, password):
// the cache holds nothing that could be used outside this process, and a
// wrong password can never hit. Every credential change of a principal
// drops its entries, and a generation counter stops a verification that
// raced with such a change from being cached.
type bindCache struct {
	key [32]byte
	now func() time.Time

	mu         sync.Mutex
	generation uint64
	entries    map[[32]byte]bindEntry
	byID       map[string][][32]byte
}

type bindEntry struct {
	id      string
	method  string
	expires time.Time
}

func newBindCache(now func() time.Time) *bindCache {
	c := &bindCache{now: now, entries: map[[32]byte]bindEntry{}, byID: map[string][][32]byte{}}
	if _, err := rand.Read(c.key[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return c
}

func (c *bindCache) digest(id, secret string) [32]byte {
	m := hmac.New(sha256.New, c.key[:])
	m.Write([]byte(id))
	m.Write([]byte{0})
	m.Write([]byte(secret))
	var out [32]byte
	copy(out[:], m.Sum(nil))
	return out
}

// lookup returns the method of a cached verification of (id, secret).
func (c *bindCache) lookup(id, secret string) (method string, ok bool) {
	k := c.digest(id, secret)
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || e.id != id || !c.now().Before(e.expires) {
		return "", false
	}
	return e.method, true
}

func (c *bindCache) gen() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.generation
}

// add caches a verification that started at generation gen.
func (c *bindCache) add(gen uint64, id, secret, method string) {
	k := c.digest(id, secret)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.generation {
		return
	}
	if len(c.entries) > 100_000 {
		c.entries = map[[32]byte]bindEntry{}
		c.byID = map[string][][32]byte{}
	}
	if _, dup := c.entries[k]; !dup {
		c.byID[id] = append(c.byID[id], k)
	}
	c.entries[k] = bindEntry{id: id, method: method, expires: c.now().Add(bindCacheTTL)}
}

// forget drops everything cached for id.
func (c *bindCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	for _, k := range c.byID[id] {
		delete(c.entries, k)
	}
	delete(c.byID, id)
}

// forgetAll drops every entry, as after a shared store reloaded.
func (c *bindCache) forgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	c.entries = map[[32]byte]bindEntry{}
	c.byID = map[string][][32]byte{}
}
