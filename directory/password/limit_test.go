package password

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentHashesAreBounded runs twelve hashes and verifications at
// once with a concurrency of 3, through an argon2 that counts how many of
// its calls overlap: never more than 3, and 3 at some point.
func TestConcurrentHashesAreBounded(t *testing.T) {
	var running, peak atomic.Int32
	real := computeArgon2
	computeArgon2 = func(variant string, pw, salt []byte, p Params, n uint32) []byte {
		now := running.Add(1)
		for old := peak.Load(); now > old && !peak.CompareAndSwap(old, now); old = peak.Load() {
		}
		time.Sleep(20 * time.Millisecond)
		running.Add(-1)
		return real(variant, pw, salt, p, n)
	}
	SetConcurrency(3)
	t.Cleanup(func() { computeArgon2 = real; SetConcurrency(0) })

	h := &Hasher{Params: TestParams}
	stored, err := h.Hash("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	peak.Store(0)
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			if i%2 == 0 {
				h.Hash("correct horse")
			} else if ok, _ := Verify(stored, "correct horse"); !ok {
				t.Error("the hash does not verify")
			}
		})
	}
	wg.Wait()
	if got := peak.Load(); got != 3 {
		t.Fatalf("%d hashes ran at once; the limit is 3", got)
	}
}

// TestHashForcesNoCollection: a hash with real-sized memory must not force
// a garbage collection (it once freed the heap to the system twice per
// hash, stalling every other request of a large directory).
func TestHashForcesNoCollection(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := (&Hasher{Params: Params{Memory: 4 * 1024, Time: 1, Threads: 1}}).Hash("correct horse"); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if n := after.NumForcedGC - before.NumForcedGC; n != 0 {
		t.Fatalf("a hash forced %d collections", n)
	}
}

func TestParamsBelowOWASPMinimumAreRefused(t *testing.T) {
	for _, p := range []Params{
		{Memory: 19*1024 - 1, Time: 2, Threads: 1},
		{Memory: 64 * 1024, Time: 1, Threads: 2},
		{Memory: 64 * 1024, Time: 3, Threads: 0},
		TestParams,
	} {
		if p.CheckStrength() == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	for _, p := range []Params{MinParams, DefaultParams} {
		if err := p.CheckStrength(); err != nil {
			t.Errorf("%+v refused: %v", p, err)
		}
	}
}
