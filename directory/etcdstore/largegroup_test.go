package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// stoppingStore lets left more Updates run, then fails them, as a
// process stopped partway would.
type stoppingStore struct {
	*Store
	left atomic.Int64 // Updates still allowed; negative: no limit
}

var errStopped = errors.New("stopped")

func (s *stoppingStore) Update(ctx context.Context, fn func(directory.Tx) error) error {
	if s.left.Add(-1) == -1 {
		s.left.Store(0)
		return errStopped
	}
	return s.Store.Update(ctx, fn)
}

// stoppingDirectory is a directory on a fresh prefix whose store runs
// every Update until the test sets how many more it may run.
func stoppingDirectory(t *testing.T) (*stoppingStore, *directory.Directory) {
	t.Helper()
	s := &stoppingStore{Store: openStore(t, newClient(t), freshPrefix())}
	s.left.Store(-1 << 40)
	d, err := directory.New(context.Background(), s, directory.Options{})
	must(t, err)
	t.Cleanup(func() { d.Close() })
	return s, d
}

// checkConsistent fails the test when Directory.Check finds a problem.
func checkConsistent(t *testing.T, d *directory.Directory, when string) {
	t.Helper()
	if problems, err := d.Check(context.Background()); err != nil || len(problems) > 0 {
		t.Fatalf("check %s: %v %v", when, err, problems)
	}
}

// TestDeleteLargeGroup deletes a group of 300 users, far more
// memberships than one etcd transaction can delete: the delete is stopped
// after its first chunk, which leaves a smaller, consistent group, and
// run again it deletes the group and every membership. Done in one
// transaction the delete fails with ErrTxnTooLarge.
func TestDeleteLargeGroup(t *testing.T) {
	ctx := context.Background()
	s, d := stoppingDirectory(t)
	var err error
	_, err = d.CreateGroup(ctx, directory.Group{CN: "everyone"})
	must(t, err)
	var add []directory.MemberRef
	for i := range 300 {
		uid := fmt.Sprintf("u%03d", i)
		_, err := d.CreateUser(ctx, directory.User{UID: uid})
		must(t, err)
		if add = append(add, directory.MemberRef{Name: uid}); len(add) == 50 {
			_, err = d.ChangeMembers(ctx, "everyone", add, nil)
			must(t, err)
			add = nil
		}
	}
	check := func(when string) { t.Helper(); checkConsistent(t, d, when) }

	s.left.Store(1)
	if err := d.DeleteGroup(ctx, "everyone"); !errors.Is(err, errStopped) {
		t.Fatalf("delete stopped after one chunk: %v", err)
	}
	g, err := d.Group(ctx, "everyone")
	must(t, err)
	if n := len(g.Users); n == 0 || n >= 300 {
		t.Fatalf("after one chunk the group has %d members", n)
	}
	check("after the stopped delete")

	s.left.Store(-1 << 40)
	must(t, d.DeleteGroup(ctx, "everyone"))
	if _, err := d.Group(ctx, "everyone"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("the deleted group: %v", err)
	}
	check("after the delete")
}

// TestDeleteUserInManyGroups deletes a user who is in 120 groups, more
// memberships than one etcd transaction can remove: stopped after its
// first chunk the delete leaves the user in fewer groups, consistent, and
// run again it deletes the user and every membership. Done in one
// transaction the delete fails with ErrTxnTooLarge.
func TestDeleteUserInManyGroups(t *testing.T) {
	ctx := context.Background()
	s, d := stoppingDirectory(t)
	var err error
	_, err = d.CreateUser(ctx, directory.User{UID: "carol"})
	must(t, err)
	const groups = 120
	for i := range groups {
		cn := fmt.Sprintf("g%03d", i)
		_, err := d.CreateGroup(ctx, directory.Group{CN: cn})
		must(t, err)
		_, err = d.ChangeMembers(ctx, cn, []directory.MemberRef{{Name: "carol"}}, nil)
		must(t, err)
	}
	check := func(when string) { t.Helper(); checkConsistent(t, d, when) }

	s.left.Store(1)
	if err := d.DeleteUser(ctx, "carol"); !errors.Is(err, errStopped) {
		t.Fatalf("delete stopped after one chunk: %v", err)
	}
	in, err := d.EffectiveGroups(ctx, "carol")
	must(t, err)
	if n := len(in); n == 0 || n >= groups {
		t.Fatalf("after one chunk carol is in %d groups", n)
	}
	check("after the stopped delete")

	s.left.Store(-1 << 40)
	must(t, d.DeleteUser(ctx, "carol"))
	if _, err := d.User(ctx, "carol"); !errors.Is(err, directory.ErrNotFound) {
		t.Fatalf("the deleted user: %v", err)
	}
	g, err := d.Group(ctx, "g000")
	must(t, err)
	if len(g.Users) != 0 {
		t.Fatalf("g000 still has members %v", g.Users)
	}
	check("after the delete")
}
