package signin

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// flowLimiter caps the sign-ins one client address may start: a token
// bucket per address that holds perMinute starts and refills at that rate.
// A pending flow costs the server nothing to keep, but each start costs a
// page and a sealing; one address that starts thousands a minute is a
// flood, not a person. Behind a reverse proxy, web.trusted_proxies makes
// the address the client's, not the proxy's.
type flowLimiter struct {
	perMinute int

	mu      sync.Mutex
	buckets map[string]*flowBucket
}

type flowBucket struct {
	tokens float64
	last   time.Time
}

// maxFlowAddresses bounds the limiter's table. When it is full, buckets
// that have refilled are dropped first; if every one is in use the table
// starts over, which forgets limits but never grows memory.
const maxFlowAddresses = 8192

// allow takes one start from addr's bucket at now, reporting false when it
// is empty.
func (l *flowLimiter) allow(addr string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[addr]
	if b == nil {
		if l.buckets == nil || len(l.buckets) >= maxFlowAddresses {
			l.pruneLocked(now)
		}
		b = &flowBucket{tokens: float64(l.perMinute), last: now}
		l.buckets[addr] = b
	}
	b.tokens = min(float64(l.perMinute), b.tokens+now.Sub(b.last).Minutes()*float64(l.perMinute))
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (l *flowLimiter) pruneLocked(now time.Time) {
	for addr, b := range l.buckets {
		if now.Sub(b.last) >= time.Minute {
			delete(l.buckets, addr)
		}
	}
	if l.buckets == nil || len(l.buckets) >= maxFlowAddresses {
		l.buckets = map[string]*flowBucket{}
	}
}

// tooManyFlows refuses a sign-in start over the limit.
func (e *Engine) tooManyFlows(w http.ResponseWriter) {
	w.Header().Set("Retry-After", strconv.Itoa(60))
	e.showMessage(w, http.StatusTooManyRequests, "Too many sign-ins", "Too many sign-ins were started from your network. Wait a minute and try again.")
}
