package etcdstore

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// TestUIDNumbersAcrossNodes creates 1,000 users and groups at once through
// two directories on one cluster: each gets a number of its own from the
// range they share. An Update fn that kept the number an earlier, losing
// run allocated would fail here with "is taken".
func TestUIDNumbersAcrossNodes(t *testing.T) {
	a, b, _, _ := twoDirectories(t)
	distinctNumbers(t, a, b)
}

// distinctNumbers is TestUIDNumbersAcrossNodes on the directories a and b.
func distinctNumbers(t *testing.T, a, b *directory.Directory) {
	dirs := []*directory.Directory{a, b}
	const users, workers = 1000, 16
	var mu sync.Mutex
	owner := map[int]string{}
	var wg sync.WaitGroup
	for w := range workers {
		d := dirs[w%2]
		wg.Go(func() {
			for i := w; i < users; i += workers {
				name, n, err := create(d, i)
				if err != nil {
					t.Errorf("create %s: %v", name, err)
					return
				}
				mu.Lock()
				if other, taken := owner[n]; taken {
					t.Errorf("number %d given to %s and %s", n, other, name)
				}
				owner[n] = name
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(owner) != users {
		t.Fatalf("%d distinct numbers for %d users and groups", len(owner), users)
	}
}

// create makes the i-th user, or every fifth time a group, and returns
// its name and number.
func create(d *directory.Directory, i int) (string, int, error) {
	ctx := context.Background()
	if i%5 == 0 {
		cn := fmt.Sprintf("g%04d", i)
		g, err := d.CreateGroup(ctx, directory.Group{CN: cn})
		return "group " + cn, g.GIDNumber, err
	}
	uid := fmt.Sprintf("u%04d", i)
	u, err := d.CreateUser(ctx, directory.User{UID: uid})
	return "user " + uid, u.UIDNumber, err
}
