package etcdstore

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// TestScanMatchesModel checks Scan inside Updates against a plain map:
// random puts and deletes over committed keys, then scans with random
// prefixes and starting points, in the same transaction.
func TestScanMatchesModel(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, newClient(t), freshPrefix())
	rng := rand.New(rand.NewPCG(1, 2))
	model := map[string]string{}
	key := func() string { return fmt.Sprintf("%c/%d", 'a'+rng.IntN(3), rng.IntN(20)) }
	for round := range 20 {
		var next map[string]string
		must(t, s.Update(ctx, func(tx directory.Tx) error {
			next = maps.Clone(model) // fn may run again
			for range 10 {
				k := key()
				if rng.IntN(3) == 0 {
					must(t, tx.Delete("kv", k))
					delete(next, k)
				} else {
					v := fmt.Sprint(round, rng.IntN(100))
					must(t, tx.Put("kv", k, []byte(v)))
					next[k] = v
				}
			}
			for range 5 {
				prefix := []string{"", "a/", "b/1", "c/"}[rng.IntN(4)]
				after := ""
				if rng.IntN(2) == 0 {
					after = key()
				}
				var got []string
				must(t, tx.Scan("kv", prefix, after, func(k string, v []byte) error {
					got = append(got, k+"="+string(v))
					return nil
				}))
				if want := expectScan(next, prefix, after); !slices.Equal(got, want) {
					t.Fatalf("round %d: Scan(%q, %q) = %v, want %v", round, prefix, after, got, want)
				}
			}
			return nil
		}))
		model = next
	}
}

func expectScan(m map[string]string, prefix, after string) []string {
	var out []string
	for k, v := range m {
		if strings.HasPrefix(k, prefix) && (after == "" || k > after) {
			out = append(out, k+"="+v)
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		ka, _, _ := strings.Cut(a, "=")
		kb, _, _ := strings.Cut(b, "=")
		return strings.Compare(ka, kb)
	})
	return out
}
