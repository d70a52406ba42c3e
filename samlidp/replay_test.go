package samlidp

import (
	"strconv"
	"testing"
	"time"
)

// A flood of new IDs keeps the cache at its bound, forgetting the oldest;
// recent IDs are still refused, and expired ones are dropped.
func TestReplayCacheBounded(t *testing.T) {
	c := newReplayCache()
	c.maxSize = 100
	now := time.Now()
	for i := range 1000 {
		if !c.claim(strconv.Itoa(i), now, now.Add(time.Minute)) {
			t.Fatalf("new ID %d refused", i)
		}
	}
	if len(c.seen) > 100 || len(c.order) > 100 {
		t.Errorf("cache holds %d IDs (%d queued), want at most 100", len(c.seen), len(c.order))
	}
	if c.claim("999", now, now.Add(time.Minute)) {
		t.Error("a recent ID was accepted again")
	}
	if !c.claim("0", now, now.Add(time.Minute)) {
		t.Error("the oldest ID, forgotten under the flood, was refused")
	}
	later := now.Add(2 * time.Minute)
	if !c.claim("999", later, later.Add(time.Minute)) {
		t.Error("an expired ID was refused")
	}
	if len(c.seen) != 1 {
		t.Errorf("after expiry the cache holds %d IDs, want 1", len(c.seen))
	}
}
