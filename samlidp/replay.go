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
//
// On several nodes over etcd each node keeps its own cache, so a request
// replayed to another node within maxRequestAge is served once more
// there. That gives a replayer nothing a fresh request would not: the
// request is only a question, the Response goes to the app's registered
// ACS in the browser that signs in, and anyone can make a browser start
// a new sign-in at the app. Sharing the cache would cost a Raft write
// per sign-in for no gain; what must be once only across nodes (sessions,
// login flows, TOTP steps, backoff counters) is in the store.
//
// Any registered app's request, signed in or not, adds an ID, so the cache
// is bounded: at most maxSize IDs (each at most maxRequestID bytes), a few
// MB. Every ID is kept for the same window, so the oldest claimed expires
// first: a queue in claim order drops expired IDs from its front and, when
// a flood fills it, forgets the oldest, which can at worst let that
// request show the login page a second time.
type replayCache struct {
	mu      sync.Mutex
	seen    map[string]time.Time // key -> expiry
	order   []claimed            // in claim order, oldest first
	maxSize int
}

func newReplayCache() *replayCache {
	return &replayCache{seen: map[string]time.Time{}, maxSize: 1 << 15}
}

// claim records key until expires and reports whether it was new.
func (c *replayCache) claim(key string, now, expires time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if exp, ok := c.seen[key]; ok && now.Before(exp) {
		return false
	}
	for len(c.order) > 0 && (len(c.order) >= c.maxSize || !now.Before(c.order[0].expires)) {
		old := c.order[0]
		if c.seen[old.key].Equal(old.expires) { // not claimed again since
			delete(c.seen, old.key)
		}
		c.order = c.order[1:]
	}
	if len(c.order) == 0 {
		c.order = nil // let the backing array go after a flood
	}
	c.seen[key] = expires
	c.order = append(c.order, claimed{key, expires})
	return true
}

type claimed struct {
	key     string
	expires time.Time
}
