package dirtest

import (
	"sync"
	"time"
)

// Clock is a clock for tests that moves only when told. It is safe to read
// from the directory's own goroutines (the audit writer) while a test
// moves it.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time; pass c.Now wherever a clock is injected.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// OffsetClock is real time plus an offset a test may move, for tests where
// a library dates things by the real clock and Atrium by the injected one.
// The zero value is real time.
type OffsetClock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is real time plus the offset.
func (c *OffsetClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock on by d.
func (c *OffsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}
