package signin

import (
	"strconv"
	"testing"
	"time"
)

// An address gets perMinute starts at once, then one per refill; other
// addresses are not affected, and the table stays bounded.
func TestFlowLimiter(t *testing.T) {
	l := &flowLimiter{perMinute: 10}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10 {
		if !l.allow("192.0.2.1", now) {
			t.Fatalf("start %d refused", i+1)
		}
	}
	if l.allow("192.0.2.1", now) {
		t.Error("the 11th start in a minute was allowed")
	}
	if !l.allow("192.0.2.2", now) {
		t.Error("another address was refused")
	}
	if !l.allow("192.0.2.1", now.Add(6*time.Second)) || l.allow("192.0.2.1", now.Add(6*time.Second)) {
		t.Error("after 6 s the address should have exactly one start back")
	}
	for i := range 3 * maxFlowAddresses {
		l.allow("10.0."+strconv.Itoa(i/256)+"."+strconv.Itoa(i%256), now.Add(time.Duration(i)*time.Millisecond))
	}
	if len(l.buckets) > maxFlowAddresses {
		t.Errorf("the limiter holds %d addresses, want at most %d", len(l.buckets), maxFlowAddresses)
	}
}
