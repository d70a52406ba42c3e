package directory_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

// readCounter wraps a real store and counts the records every transaction
// reads, so a test can tell an index lookup from a scan.
type readCounter struct {
	directory.Store
	reads atomic.Int64
}

func (c *readCounter) View(ctx context.Context, fn func(directory.Tx) error) error {
	return c.Store.View(ctx, func(tx directory.Tx) error { return fn(countingTx{tx, &c.reads}) })
}

type countingTx struct {
	directory.Tx
	reads *atomic.Int64
}

func (t countingTx) Get(bucket, key string) ([]byte, error) {
	t.reads.Add(1)
	return t.Tx.Get(bucket, key)
}

func (t countingTx) Scan(bucket, prefix, after string, fn func(string, []byte) error) error {
	return t.Tx.Scan(bucket, prefix, after, func(k string, v []byte) error {
		t.reads.Add(1)
		return fn(k, v)
	})
}

// TestLookupsUseIndexes shows that finding one user among many, and a
// user's effective groups, reads a handful of records, not the directory.
func TestLookupsUseIndexes(t *testing.T) {
	ctx := context.Background()
	const users, groups = 5000, 200
	store := &readCounter{Store: openStore(t, filepath.Join(t.TempDir(), "atrium.db"))}
	t.Cleanup(func() { store.Close() })
	d, err := directory.New(ctx, store, directory.Options{PasswordParams: password.TestParams})
	must(t, err)
	t.Cleanup(func() { d.Close() })

	var target directory.User
	must(t, d.Batch(ctx, func(b *directory.Batch) error {
		var ids []string
		for i := range users {
			u, err := b.CreateUser(directory.User{UID: fmt.Sprintf("user%05d", i), Mail: fmt.Sprintf("user%05d@example.com", i)})
			if err != nil {
				return err
			}
			ids = append(ids, u.ID)
			if i == users/2 {
				target = u
			}
		}
		// A chain of nested groups: group i holds a slice of users and group i-1.
		var prev string
		for i := range groups {
			g := directory.Group{CN: fmt.Sprintf("group%03d", i), Users: ids[i*users/groups : (i+1)*users/groups]}
			if prev != "" {
				g.Groups = []string{prev}
			}
			g, err := b.CreateGroup(g)
			if err != nil {
				return err
			}
			prev = g.ID
		}
		return nil
	}))

	lookups := []struct {
		name     string
		maxReads int64
		fn       func(directory.Reader) error
	}{
		{"by uid", 4, func(r directory.Reader) error { return check(r.UserByUID("USER02500")) }},
		{"by mail", 4, func(r directory.Reader) error { return check(r.UserByMail(target.Mail)) }},
		{"by uidNumber", 4, func(r directory.Reader) error { return check(r.UserByUIDNumber(target.UIDNumber)) }},
		{"by entryUUID", 4, func(r directory.Reader) error { return check(r.User(target.ID)) }},
		{"login name", 6, func(r directory.Reader) error { return check(r.UserByLogin(target.Mail)) }},
		// A private group is found through its user's indexes.
		{"private group by gidNumber", 5, func(r directory.Reader) error {
			_, u, err := r.PrivateGroupByGIDNumber(target.UIDNumber)
			return check(u, err)
		}},
		{"private group by cn", 5, func(r directory.Reader) error {
			_, u, err := r.PrivateGroupByCN("user02500")
			return check(u, err)
		}},
		{"private group by entryUUID", 5, func(r directory.Reader) error {
			g, _ := target.PrivateGroup()
			_, u, err := r.PrivateGroupByID(g.ID)
			return check(u, err)
		}},
		// The user is in group 100, which the 99 groups after it nest: one
		// read per effective group, fewer than a scan of all 200.
		{"effective groups", groups/2 + 10, func(r directory.Reader) error {
			gs, err := r.EffectiveGroupIDs(target.ID)
			if err == nil && len(gs) != groups-users/2/(users/groups) {
				err = fmt.Errorf("%d effective groups, want %d", len(gs), groups-users/2/(users/groups))
			}
			return err
		}},
	}
	for _, l := range lookups {
		t.Run(l.name, func(t *testing.T) {
			store.reads.Store(0)
			must(t, d.View(ctx, func(_ context.Context, r directory.Reader) error { return l.fn(r) }))
			n := store.reads.Load()
			t.Logf("%d reads", n)
			if n > l.maxReads {
				t.Errorf("read %d records among %d users, want at most %d", n, users, l.maxReads)
			}
		})
	}
}

func check(u directory.User, err error) error {
	if err == nil && u.UID != "user02500" {
		err = fmt.Errorf("found %s", u.UID)
	}
	return err
}
