package directory

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestWriteBufferWithCollidingHashes: keys whose hashes collide (forced
// here, 16 hashes for 300 keys) are still told apart, before and after the
// buffer is sorted, and values that outgrow a chunk are kept whole.
func TestWriteBufferWithCollidingHashes(t *testing.T) {
	b := newWriteBuffer()
	b.hash = func(k string) uint64 { return hashKey(k) % 16 }
	want := map[string]string{} // "" for deleted
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 3000 {
		k := fmt.Sprintf("k%03d", rng.IntN(300))
		switch {
		case rng.IntN(5) == 0:
			b.set(k, nil, true)
			want[k] = ""
		case rng.IntN(100) == 0:
			v := strings.Repeat("v", chunkSize+i)
			b.set(k, []byte(v), false)
			want[k] = v
		default:
			v := fmt.Sprint("v", i)
			b.set(k, []byte(v), false)
			want[k] = v
		}
		if i%500 == 499 {
			b.sort()
		}
		probe := fmt.Sprintf("k%03d", rng.IntN(300))
		j := b.find(probe)
		w, known := want[probe]
		if j < 0 != !known {
			t.Fatalf("step %d: find(%s) = %d, written before: %v", i, probe, j, known)
		}
		if j >= 0 {
			if v, ok := b.value(j); string(v) != w || ok != (w != "") {
				t.Fatalf("step %d: %s = %.20q (%v), want %.20q", i, probe, v, ok, w)
			}
		}
	}
	b.sort()
	var keys []string
	for i := range b.len() {
		keys = append(keys, string(b.key(i)))
	}
	if !slices.IsSorted(keys) || len(keys) != len(want) {
		t.Errorf("sorted buffer holds %d keys (want %d), in order: %v", len(keys), len(want), slices.IsSorted(keys))
	}
}
