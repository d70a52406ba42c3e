package directory_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// TestSortedTxReadsLikeTheStore applies the same random puts and deletes to
// a plain bbolt transaction and, through BulkBatch's write buffer, to
// another: every Get and Scan along the way, and the stores after the
// commit, must agree.
func TestSortedTxReadsLikeTheStore(t *testing.T) {
	ctx := context.Background()
	plain := openStore(t, filepath.Join(t.TempDir(), "plain.db"))
	buffered := openStore(t, filepath.Join(t.TempDir(), "buffered.db"))
	t.Cleanup(func() { plain.Close(); buffered.Close() })
	rng := rand.New(rand.NewPCG(1, 2))
	key := func() string { return fmt.Sprintf("%c/%02d", 'a'+rng.IntN(3), rng.IntN(30)) }
	// Some keys are in the store before the buffered transaction.
	for _, s := range []directory.Store{plain, buffered} {
		must(t, s.Update(ctx, func(tx directory.Tx) error {
			for i := range 20 {
				if err := tx.Put("t", fmt.Sprintf("b/%02d", i*3), []byte("old")); err != nil {
					return err
				}
			}
			return nil
		}))
	}
	must(t, plain.Update(ctx, func(ptx directory.Tx) error {
		return buffered.Update(ctx, func(btx directory.Tx) error {
			stx, flush := directory.SortedTx(btx)
			for i := range 400 {
				k, v := key(), []byte(fmt.Sprint(i))
				if rng.IntN(4) == 0 {
					must(t, ptx.Delete("t", k))
					must(t, stx.Delete("t", k))
				} else {
					must(t, ptx.Put("t", k, v))
					must(t, stx.Put("t", k, v))
				}
				probe := key()
				want, wantErr := ptx.Get("t", probe)
				got, gotErr := stx.Get("t", probe)
				if string(want) != string(got) || !errors.Is(gotErr, wantErr) && gotErr != wantErr {
					t.Fatalf("step %d: Get %s = %q, %v; the store says %q, %v", i, probe, got, gotErr, want, wantErr)
				}
				prefix, after, limit := []string{"", "a", "b/", "c/1"}[rng.IntN(4)], "", 1+rng.IntN(8)
				if rng.IntN(2) == 0 {
					after = key()
				}
				if w, g := scan(t, ptx, prefix, after, limit), scan(t, stx, prefix, after, limit); !slices.Equal(w, g) {
					t.Fatalf("step %d: Scan(%q, %q) stopped after %d = %v; the store says %v", i, prefix, after, limit, g, w)
				}
			}
			return flush()
		})
	}))
	var want, got []string
	must(t, plain.View(ctx, func(tx directory.Tx) error { want = scan(t, tx, "", "", 1<<20); return nil }))
	must(t, buffered.View(ctx, func(tx directory.Tx) error { got = scan(t, tx, "", "", 1<<20); return nil }))
	if !slices.Equal(want, got) {
		t.Fatalf("after the commit the buffered store holds\n%v\nthe plain one\n%v", got, want)
	}
}

// scan lists "key=value" of Scan, stopping with ErrStop after limit keys.
func scan(t *testing.T, tx directory.Tx, prefix, after string, limit int) []string {
	t.Helper()
	var out []string
	err := tx.Scan("t", prefix, after, func(k string, v []byte) error {
		out = append(out, k+"="+string(v))
		if len(out) == limit {
			return directory.ErrStop
		}
		return nil
	})
	must(t, err)
	return out
}
