package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) directory.Store {
		return openStore(t, newClient(t), freshPrefix())
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func put(bucket, key, value string) func(directory.Tx) error {
	return func(tx directory.Tx) error { return tx.Put(bucket, key, []byte(value)) }
}

func getString(t *testing.T, s *Store, bucket, key string) (string, error) {
	t.Helper()
	var v []byte
	err := s.View(context.Background(), func(tx directory.Tx) error {
		var err error
		v, err = tx.Get(bucket, key)
		return err
	})
	return string(v), err
}

// twoNodes opens two Stores on one prefix, each through its own member,
// as two Atrium nodes would.
func twoNodes(t *testing.T) (a, b *Store) {
	prefix := freshPrefix()
	return openStore(t, newClient(t, 0), prefix), openStore(t, newClient(t, 1), prefix)
}

func TestWriteOnOneNodeIsReadOnTheOther(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	must(t, a.Update(ctx, put("kv", "k", "from A")))
	// Read-your-writes on A: no wait needed.
	if v, err := getString(t, a, "kv", "k"); err != nil || v != "from A" {
		t.Fatalf("A reads its own write as %q, %v", v, err)
	}
	must(t, b.Sync(ctx))
	if v, err := getString(t, b, "kv", "k"); err != nil || v != "from A" {
		t.Fatalf("B after Sync reads %q, %v", v, err)
	}
	must(t, b.Update(ctx, func(tx directory.Tx) error { return tx.Delete("kv", "k") }))
	must(t, a.Sync(ctx))
	if _, err := getString(t, a, "kv", "k"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("A still reads a key B deleted: %v", err)
	}
}

// TestConflictingCreatesOnTwoNodes races the two nodes at creating the
// same key, 100 times: the commit guard must let exactly one win.
func TestConflictingCreatesOnTwoNodes(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	create := func(s *Store, key, who string) error {
		return s.Update(ctx, func(tx directory.Tx) error {
			if _, err := tx.Get("kv", key); err == nil {
				return directory.ErrAlreadyExists
			}
			return tx.Put("kv", key, []byte(who))
		})
	}
	for i := range 100 {
		key := "same" + strconv.Itoa(i)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for n, s := range []*Store{a, b} {
			wg.Go(func() { errs[n] = create(s, key, strconv.Itoa(n)) })
		}
		wg.Wait()
		winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
		loser := 1 - winner
		if winner < 0 || !errors.Is(errs[loser], directory.ErrAlreadyExists) {
			t.Fatalf("round %d: errors %v, want one success and one ErrAlreadyExists", i, errs)
		}
		must(t, a.Sync(ctx))
		must(t, b.Sync(ctx))
		for _, s := range []*Store{a, b} {
			if v, err := getString(t, s, "kv", key); err != nil || v != strconv.Itoa(winner) {
				t.Fatalf("round %d: a node reads %q, %v; node %d won", i, v, err, winner)
			}
		}
	}
}

// TestNoLostUpdatesAcrossNodes increments one counter from both nodes.
func TestNoLostUpdatesAcrossNodes(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	incr := func(tx directory.Tx) error {
		n := 0
		if v, err := tx.Get("kv", "n"); err == nil {
			n, _ = strconv.Atoi(string(v))
		}
		return tx.Put("kv", "n", []byte(strconv.Itoa(n+1)))
	}
	var wg sync.WaitGroup
	for _, s := range []*Store{a, b} {
		for range 4 {
			wg.Go(func() {
				for range 10 {
					if err := s.Update(ctx, incr); err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
	wg.Wait()
	must(t, a.Sync(ctx))
	if v, err := getString(t, a, "kv", "n"); err != nil || v != "80" {
		t.Fatalf("counter = %q, %v after 80 increments", v, err)
	}
}

// TestDirectoryOnTwoNodes creates the same uid through two directories
// on one cluster: one wins each round, and every user keeps its own
// uidNumber.
func TestDirectoryOnTwoNodes(t *testing.T) {
	ctx := context.Background()
	a, b := twoNodes(t)
	var dirs []*directory.Directory
	for _, s := range []*Store{a, b} {
		d, err := directory.New(ctx, s, directory.Options{})
		must(t, err)
		t.Cleanup(func() { d.Close() })
		dirs = append(dirs, d)
	}
	numbers := map[int]string{}
	for i := range 30 {
		uid := "user" + strconv.Itoa(i)
		users := make([]directory.User, 2)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for n, d := range dirs {
			wg.Go(func() {
				users[n], errs[n] = d.CreateUser(ctx, directory.User{UID: uid, Mail: fmt.Sprintf("%s.%d@example.com", uid, n)})
			})
		}
		wg.Wait()
		winner := slices.IndexFunc(errs, func(err error) bool { return err == nil })
		if winner < 0 || !errors.Is(errs[1-winner], directory.ErrAlreadyExists) {
			t.Fatalf("round %d: errors %v, want one success and one ErrAlreadyExists", i, errs)
		}
		if other, taken := numbers[users[winner].UIDNumber]; taken {
			t.Fatalf("uidNumber %d given to %s and %s", users[winner].UIDNumber, other, uid)
		}
		numbers[users[winner].UIDNumber] = uid
	}
	must(t, a.Sync(ctx))
	must(t, dirs[0].View(ctx, func(ctx context.Context, r directory.Reader) error {
		for n, uid := range numbers {
			u, err := r.UserByUIDNumber(n)
			if err != nil || u.UID != uid {
				t.Errorf("uidNumber %d finds %+v, %v; want %s", n, u, err, uid)
			}
		}
		return nil
	}))
}

// TestUpdateSeesItsOwnWrites scans inside an Update: its puts and deletes
// merge with the snapshot in key order.
func TestUpdateSeesItsOwnWrites(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, newClient(t), freshPrefix())
	must(t, s.Update(ctx, func(tx directory.Tx) error {
		for _, k := range []string{"p/b", "p/d", "p/f", "q/a"} {
			if err := tx.Put("kv", k, []byte("old")); err != nil {
				return err
			}
		}
		return nil
	}))
	must(t, s.Update(ctx, func(tx directory.Tx) error {
		must(t, tx.Put("kv", "p/a", []byte("new")))
		must(t, tx.Put("kv", "p/d", []byte("new")))
		must(t, tx.Delete("kv", "p/f"))
		must(t, tx.Put("kv", "p/g", []byte("new")))
		var got []string
		must(t, tx.Scan("kv", "p/", "", func(k string, v []byte) error {
			got = append(got, k+"="+string(v))
			return nil
		}))
		want := []string{"p/a=new", "p/b=old", "p/d=new", "p/g=new"}
		if !slices.Equal(got, want) {
			t.Errorf("scan in an Update = %v, want %v", got, want)
		}
		got = nil
		must(t, tx.Scan("kv", "p/", "p/b", func(k string, v []byte) error {
			got = append(got, k)
			return nil
		}))
		if want := []string{"p/d", "p/g"}; !slices.Equal(got, want) {
			t.Errorf("scan after p/b in an Update = %v, want %v", got, want)
		}
		return nil
	}))
}

// TestTxnLimit: an Update writes at most MaxTxnOps-1 keys, the commit key
// taking the last op, and about MaxRequestBytes; a larger one is refused
// whole.
func TestTxnLimit(t *testing.T) {
	ctx := context.Background()
	cli := newClient(t)
	s := openStore(t, cli, freshPrefix())
	putN := func(n int, tag string) func(directory.Tx) error {
		return func(tx directory.Tx) error {
			for i := range n {
				if err := tx.Put("kv", fmt.Sprintf("%s%04d", tag, i), []byte("v")); err != nil {
					return err
				}
			}
			return nil
		}
	}
	must(t, s.Update(ctx, putN(DefaultMaxTxnOps-1, "fits")))
	if err := s.Update(ctx, putN(DefaultMaxTxnOps, "big")); !errors.Is(err, ErrTxnTooLarge) {
		t.Fatalf("Update of %d keys = %v, want ErrTxnTooLarge", DefaultMaxTxnOps, err)
	}
	if _, err := getString(t, s, "kv", "big0000"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("a refused Update left a key: %v", err)
	}
	if err := s.Update(ctx, put("kv", "huge", string(make([]byte, 2<<20)))); !errors.Is(err, ErrTxnTooLarge) {
		t.Fatalf("Update of a 2 MiB value = %v, want ErrTxnTooLarge", err)
	}
	// A node that believes the cluster allows more learns it from etcd.
	lax, err := Open(ctx, cli, Options{Prefix: s.opts.Prefix, MaxTxnOps: 1000})
	must(t, err)
	defer lax.Close()
	if err := lax.Update(ctx, putN(200, "lax")); !errors.Is(err, ErrTxnTooLarge) {
		t.Fatalf("Update of 200 keys past etcd's limit = %v, want ErrTxnTooLarge", err)
	}
}

// TestViewIsLocal reads with the etcd client closed: the mirror answers.
func TestViewIsLocal(t *testing.T) {
	ctx := context.Background()
	cli, err := clientv3.New(clientv3.Config{Endpoints: cluster.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	must(t, err)
	s := openStore(t, cli, freshPrefix())
	must(t, s.Update(ctx, put("kv", "k", "v")))
	cli.Close()
	if v, err := getString(t, s, "kv", "k"); err != nil || v != "v" {
		t.Fatalf("View with the client closed = %q, %v", v, err)
	}
	if err := s.Update(ctx, put("kv", "k", "w")); err == nil {
		t.Fatal("Update with the client closed succeeded")
	}
}
