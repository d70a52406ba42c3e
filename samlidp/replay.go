package samlidp

import (
	"sync"
	"time"
)

// replayCache remembers the AuthnRequest IDs seen within the replay window.
// It is kept in memory on purpose: a replayed request can at worst lead a
// user to the login page again (the answer goes only to the registered
// ACS), while a durable record would cost a disk sync per login, as much
// as the two signatures. A restart forgets it; requests older than
// maxRequestAge are refused anyway.
type replayCache struct {
	mu      sync.Mutex
	seen    map[string]time.Time // key -> expiry
	nextGC  time.Time
	maxSize int
}

func newReplayCache() *replayCache {
	return &replayCache{seen: map[string]time.Time{}, maxSize: 1 << 20}
}

// claim records key until expires and reports whether it was new.
func (c *replayCache) claim(key string, now, expires time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[key]; ok && now.Before(exp) {
		return false
	}
	if now.After(c.nextGC) || len(c.seen) >= c.maxSize {
		for k, exp := range c.seen {
			if !now.Before(exp) {
				delete(c.seen, k)
			}
		}
		c.nextGC = now.Add(time.Minute)
	}
	if len(c.seen) >= c.maxSize {
		return false // flooded: refuse rather than forget
	}
	c.seen[key] = expires
	return true
}
