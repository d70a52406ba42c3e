package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// TestSameUIDOnTwoNodes: two directories on one cluster create the same
// uid at the same moment, 100 times; exactly one wins each round, the
// other is told the uid exists, and the invariant check over the whole
// store finds every index matching its records. A commit that did not
// guard the keys a create read would let both win, leaving two records
// behind one uid index entry.
func TestSameUIDOnTwoNodes(t *testing.T) {
	a, b, _, _ := twoDirectories(t)
	sameUIDRaces(t, a, b)
}

// sameUIDRaces is TestSameUIDOnTwoNodes on the directories a and b.
func sameUIDRaces(t *testing.T, a, b *directory.Directory) {
	ctx := context.Background()
	for i := range 100 {
		uid := fmt.Sprintf("same%03d", i)
		var mu sync.Mutex
		wins := 0
		var wg sync.WaitGroup
		for _, d := range []*directory.Directory{a, b} {
			wg.Go(func() {
				_, err := d.CreateUser(ctx, directory.User{UID: uid, Mail: uid + "@example.com"})
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					wins++
				} else if !errors.Is(err, directory.ErrAlreadyExists) {
					t.Errorf("round %d: %v", i, err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("round %d: %d nodes created uid %s", i, wins, uid)
		}
	}
	for _, d := range []*directory.Directory{a, b} {
		if problems, err := d.Check(ctx); err != nil || len(problems) > 0 {
			t.Fatalf("check after the races: %v %v", err, problems)
		}
	}
	users, err := a.ListUsers(ctx)
	must(t, err)
	if len(users) != 100 {
		t.Fatalf("%d users after 100 rounds, want 100", len(users))
	}
}
