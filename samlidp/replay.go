package samlidp

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// kindAnswered is the store's record of a request ID answered on a shared
// store.
const kindAnswered = "saml-answered"

// replayCache remembers the AuthnRequest IDs seen within the replay window.
// It is the first filter, at a request's arrival, and kept in memory on
// purpose: any registered app's request, signed in or not, adds an ID, so
// a durable record would let anonymous requests grow the database, and
// would cost a disk sync per request. A restart forgets it; requests older
// than maxRequestAge are refused anyway.
//
// On a store shared by several nodes (etcd), a request replayed to
// another node passes that node's cache, so the ID is also claimed in the
// store when a Response is issued for it (claimAnswered): only then, for
// a signed-in user, so anonymous requests still write nothing, and no
// request ID is answered twice across nodes.
//
// The cache is bounded: at most maxSize IDs (each at most maxRequestID
// bytes), a few MB. Every ID is kept for the same window, so the oldest
// claimed expires first: a queue in claim order drops expired IDs from its
// front and, when a flood fills it, forgets the oldest, which can at worst
// let that request show the login page a second time.
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

// claimAnswered records, on a shared store, that a Response is issued for
// the request p answers; directory.ErrUsed means another node (or this
// one) already issued one. The claim outlives the last moment any node
// can still answer the request: accepted within replayWindow, it may wait
// in a sign-in and then a step-up for the second factor, each a flow.
func (i *IdP) claimAnswered(ctx context.Context, p parked) error {
	if p.RequestID == "" || !i.dir.Shared() {
		return nil
	}
	expires := i.now().Add(replayWindow + 2*i.signin.FlowTTL())
	if err := i.dir.ClaimOnce(ctx, kindAnswered, p.AppID+"|"+p.RequestID, expires); err != nil {
		return fmt.Errorf("claim request ID %q: %w", p.RequestID, err)
	}
	return nil
}
