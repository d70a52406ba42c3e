package directory_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

// TestGroupsNeverTakeAPrivateGroupNumber is the scenario: two
// users, then two groups. The groups must not be given the users' numbers,
// which are the numbers of their private groups.
func TestGroupsNeverTakeAPrivateGroupNumber(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	alice, err := d.CreateUser(ctx, directory.User{UID: "alice"})
	must(t, err)
	bob, err := d.CreateUser(ctx, directory.User{UID: "bob"})
	must(t, err)
	staff, err := d.CreateGroup(ctx, directory.Group{CN: "staff"})
	must(t, err)
	devs, err := d.CreateGroup(ctx, directory.Group{CN: "devs"})
	must(t, err)
	numbers := []int{alice.UIDNumber, bob.UIDNumber, staff.GIDNumber, devs.GIDNumber}
	slices.Sort(numbers)
	if len(slices.Compact(numbers)) != 4 {
		t.Fatalf("numbers shared: alice %d, bob %d, staff %d, devs %d", alice.UIDNumber, bob.UIDNumber, staff.GIDNumber, devs.GIDNumber)
	}
	if alice.GIDNumber != alice.UIDNumber || bob.GIDNumber != bob.UIDNumber {
		t.Errorf("default primary groups: alice %d/%d, bob %d/%d", alice.UIDNumber, alice.GIDNumber, bob.UIDNumber, bob.GIDNumber)
	}
	private, err := d.ListPrivateGroups(ctx)
	must(t, err)
	if len(private) != 2 || private[1].CN != "bob" || private[1].GIDNumber != bob.UIDNumber || !slices.Equal(private[1].Users, []string{bob.ID}) {
		t.Errorf("private groups: %+v", private)
	}
	must(t, d.View(ctx, func(ctx context.Context, r directory.Reader) error {
		g, u, err := r.PrivateGroupByGIDNumber(bob.GIDNumber)
		if err != nil || g.CN != "bob" || u.ID != bob.ID {
			t.Errorf("group numbered %d: %+v, %v", bob.GIDNumber, g, err)
		}
		if _, _, err := r.PrivateGroupByGIDNumber(devs.GIDNumber); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("devs's number is a private group: %v", err)
		}
		return nil
	}))
}

// TestChosenPrimaryGroup: a user's primary group is one the admin chose,
// which the user joins, or the private group; never a group they are not in.
func TestChosenPrimaryGroup(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	staff, err := d.CreateGroup(ctx, directory.Group{CN: "staff"})
	must(t, err)
	devs, err := d.CreateGroup(ctx, directory.Group{CN: "devs"})
	must(t, err)
	alice, err := d.CreateUser(ctx, directory.User{UID: "alice", GIDNumber: staff.GIDNumber})
	must(t, err)
	if g, _ := d.Group(ctx, "staff"); !slices.Contains(g.Users, alice.ID) {
		t.Errorf("alice is not in her primary group: %+v", g)
	}

	bob, err := d.SetPrimaryGroup(ctx, "alice", "devs")
	must(t, err)
	if g, _ := d.Group(ctx, "devs"); bob.GIDNumber != devs.GIDNumber || !slices.Contains(g.Users, alice.ID) {
		t.Errorf("after set-group devs: %+v, devs %+v", bob, g)
	}
	for name, err := range map[string]error{
		"remove from primary group": func() error {
			_, err := d.ChangeMembers(ctx, "devs", nil, []directory.MemberRef{{Name: "alice"}})
			return err
		}(),
		"empty primary group": func() error {
			_, err := d.UpdateGroup(ctx, "devs", func(g *directory.Group) error { g.Users = nil; return nil })
			return err
		}(),
		"delete primary group": d.DeleteGroup(ctx, "devs"),
		"renumber primary group": func() error {
			_, err := d.UpdateGroup(ctx, "devs", func(g *directory.Group) error { g.GIDNumber = 20000; return nil })
			return err
		}(),
	} {
		if !errors.Is(err, directory.ErrConflict) || !strings.Contains(err.Error(), "primary group of alice") {
			t.Errorf("%s: %v", name, err)
		}
	}

	// A batch adds its users to their primary group once, at its end.
	must(t, d.Batch(ctx, func(b *directory.Batch) error {
		for _, uid := range []string{"erin", "finn"} {
			if _, err := b.CreateUser(directory.User{UID: uid, GIDNumber: staff.GIDNumber}); err != nil {
				return err
			}
		}
		return nil
	}))
	if g, _ := d.Group(ctx, "staff"); len(g.Users) != 3 {
		t.Errorf("after a batch of two users in staff: %+v", g.Users)
	}

	back, err := d.SetPrimaryGroup(ctx, "alice", "")
	must(t, err)
	if back.GIDNumber != back.UIDNumber {
		t.Errorf("back to the private group: %+v", back)
	}
	must(t, d.DeleteGroup(ctx, "devs"))
	if _, err := d.UpdateUser(ctx, "alice", func(u *directory.User) error { u.GIDNumber = 4242; return nil }); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("gidNumber of no group: %v", err)
	}
	carol, err := d.CreateUser(ctx, directory.User{UID: "carol"})
	must(t, err)
	if _, err := d.UpdateUser(ctx, "alice", func(u *directory.User) error { u.GIDNumber = carol.UIDNumber; return nil }); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("gidNumber of carol's private group: %v", err)
	}
	moved, err := d.UpdateUser(ctx, "carol", func(u *directory.User) error { u.UIDNumber = 30000; return nil })
	must(t, err)
	if moved.GIDNumber != 30000 {
		t.Errorf("a private group follows its user's number: %+v", moved)
	}
}

// TestNumberAndNameCollisionsRefused: numbers set by hand that would make a
// group some user's private group, and names a private group has.
func TestNumberAndNameCollisionsRefused(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	alice, err := d.CreateUser(ctx, directory.User{UID: "alice"})
	must(t, err)
	staff, err := d.CreateGroup(ctx, directory.Group{CN: "staff"})
	must(t, err)
	cases := map[string]func() error{
		"group numbered as a user": func() error {
			_, err := d.CreateGroup(ctx, directory.Group{CN: "ops", GIDNumber: alice.UIDNumber})
			return err
		},
		"group renumbered as a user": func() error {
			_, err := d.UpdateGroup(ctx, "staff", func(g *directory.Group) error { g.GIDNumber = alice.UIDNumber; return nil })
			return err
		},
		"user numbered as a group": func() error {
			_, err := d.CreateUser(ctx, directory.User{UID: "bob", UIDNumber: staff.GIDNumber})
			return err
		},
		"user renumbered as a group": func() error {
			_, err := d.UpdateUser(ctx, "alice", func(u *directory.User) error { u.UIDNumber = staff.GIDNumber; return nil })
			return err
		},
		"group named as a private group": func() error {
			_, err := d.CreateGroup(ctx, directory.Group{CN: "Alice"})
			return err
		},
		"group renamed as a private group": func() error {
			_, err := d.UpdateGroup(ctx, "staff", func(g *directory.Group) error { g.CN = "alice"; return nil })
			return err
		},
		"user named as a group": func() error {
			_, err := d.CreateUser(ctx, directory.User{UID: "staff"})
			return err
		},
		"user renamed as a group": func() error {
			_, err := d.RenameUser(ctx, "alice", "STAFF")
			return err
		},
	}
	for name, f := range cases {
		if err := f(); !errors.Is(err, directory.ErrAlreadyExists) {
			t.Errorf("%s: %v", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	// A user with a chosen group has no private group, so may share a
	// group's name.
	if _, err := d.CreateUser(ctx, directory.User{UID: "staff", GIDNumber: staff.GIDNumber}); err != nil {
		t.Errorf("user staff in group staff: %v", err)
	}
}

// TestOneRangeOfNumbers: users and groups created in turn are numbered from
// one counter, and numbers given by hand are skipped.
func TestOneRangeOfNumbers(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	_, err := d.CreateGroup(ctx, directory.Group{CN: "fixed", GIDNumber: directory.FirstID + 1})
	must(t, err)
	var got []int
	for i := range 3 {
		u, err := d.CreateUser(ctx, directory.User{UID: fmt.Sprintf("u%d", i)})
		must(t, err)
		g, err := d.CreateGroup(ctx, directory.Group{CN: fmt.Sprintf("g%d", i)})
		must(t, err)
		got = append(got, u.UIDNumber, g.GIDNumber)
	}
	want := []int{10000, 10002, 10003, 10004, 10005, 10006}
	if !slices.Equal(got, want) {
		t.Errorf("numbers %v, want %v", got, want)
	}
}

// TestSchema4StoreRepairsPrimaryGroups opens a store as schema 4 left the
// issue's scenario (groups numbered as users, so bob's primary group was
// devs) and checks that the migration gives every user a primary group they
// are in, renumbers the groups, and logs each user it moved.
func TestSchema4StoreRepairsPrimaryGroups(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "atrium.db"))
	t.Cleanup(func() { s.Close() })
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams})
	must(t, err)
	alice, err := d.CreateUser(ctx, directory.User{UID: "alice"})
	must(t, err)
	bob, err := d.CreateUser(ctx, directory.User{UID: "bob"})
	must(t, err)
	staff, err := d.CreateGroup(ctx, directory.Group{CN: "staff", Users: []string{alice.ID}})
	must(t, err)
	devs, err := d.CreateGroup(ctx, directory.Group{CN: "devs"})
	must(t, err)
	ops, err := d.CreateGroup(ctx, directory.Group{CN: "ops"})
	must(t, err)
	carol, err := d.CreateUser(ctx, directory.User{UID: "carol", GIDNumber: ops.GIDNumber})
	must(t, err)
	// A group may have carol's name while she has no private group.
	_, err = d.CreateGroup(ctx, directory.Group{CN: "carol"})
	must(t, err)
	must(t, d.Close())
	// Schema 4's numbering: staff and devs took alice's and bob's numbers;
	// carol's primary group is ops, which she had been taken out of.
	must(t, s.Update(ctx, func(tx directory.Tx) error {
		renumber := func(g directory.Group, n int) error {
			if err := tx.Delete("ix.gidnumber", fmt.Sprintf("%010d", g.GIDNumber)); err != nil {
				return err
			}
			g.GIDNumber = n
			raw, _ := json.Marshal(g)
			if err := tx.Put("groups", g.ID, raw); err != nil {
				return err
			}
			return tx.Put("ix.gidnumber", fmt.Sprintf("%010d", n), []byte(g.ID))
		}
		if err := renumber(staff, alice.UIDNumber); err != nil {
			return err
		}
		if err := renumber(devs, bob.UIDNumber); err != nil {
			return err
		}
		ops.Users = nil
		raw, _ := json.Marshal(ops)
		if err := tx.Put("groups", ops.ID, raw); err != nil {
			return err
		}
		if err := tx.Delete("ix.memberof", carol.ID+"/"+ops.ID); err != nil {
			return err
		}
		if err := tx.Delete("meta", "next.id"); err != nil {
			return err
		}
		if err := tx.Put("meta", "next.uidnumber", []byte(fmt.Sprintf("%010d", carol.UIDNumber+1))); err != nil {
			return err
		}
		return tx.Put("meta", "schema", []byte("4"))
	}))

	var logs bytes.Buffer
	d, err = directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	must(t, err)
	t.Cleanup(func() { d.Close() })
	t.Log(logs.String())
	for _, want := range []string{
		fmt.Sprintf("uid=carol old_gid=%d new_gid=%d", ops.GIDNumber, carol.UIDNumber),
		fmt.Sprintf("cn=staff old_gid=%d", alice.UIDNumber),
		fmt.Sprintf("cn=devs old_gid=%d", bob.UIDNumber),
		fmt.Sprintf("uid=bob old_gid=%d old_group=devs", bob.UIDNumber),
		"private group not served: a group has its name; rename the group or choose a primary group for the user\" uid=carol group=carol",
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if strings.Contains(logs.String(), "uid=alice old_gid") {
		t.Error("alice, who was in staff, is logged as moved out of a group she was not in")
	}
	numbers := map[int]string{}
	users, err := d.ListUsers(ctx)
	must(t, err)
	for _, u := range users {
		if u.GIDNumber != u.UIDNumber {
			t.Errorf("%s: primary group %d, not the private group", u.UID, u.GIDNumber)
		}
		numbers[u.UIDNumber] = u.UID
	}
	groups, err := d.ListGroups(ctx)
	must(t, err)
	for _, g := range groups {
		if other, ok := numbers[g.GIDNumber]; ok {
			t.Errorf("group %s has the number of %s", g.CN, other)
		}
		numbers[g.GIDNumber] = g.CN
	}
	private, err := d.ListPrivateGroups(ctx)
	must(t, err)
	if len(private) != 2 || private[0].CN != "alice" || private[1].CN != "bob" {
		t.Errorf("private groups served: %+v (carol's name is a group's)", private)
	}
	g, err := d.CreateGroup(ctx, directory.Group{CN: "new"})
	must(t, err)
	if other, ok := numbers[g.GIDNumber]; ok {
		t.Errorf("a new group got %d, the number of %s", g.GIDNumber, other)
	}
}

// updateCounter counts the records read inside write transactions.
type updateCounter struct {
	directory.Store
	reads atomic.Int64
}

func (c *updateCounter) Update(ctx context.Context, fn func(directory.Tx) error) error {
	return c.Store.Update(ctx, func(tx directory.Tx) error { return fn(countingTx{tx, &c.reads}) })
}

// TestAllocationReadsFewRecords: giving a new user or group its number,
// and checking the numbers and names it must not share, reads indexes, not
// every user.
func TestAllocationReadsFewRecords(t *testing.T) {
	ctx := context.Background()
	store := &updateCounter{Store: openStore(t, filepath.Join(t.TempDir(), "atrium.db"))}
	t.Cleanup(func() { store.Close() })
	d, err := directory.New(ctx, store, directory.Options{PasswordParams: password.TestParams})
	must(t, err)
	t.Cleanup(func() { d.Close() })
	must(t, d.Batch(ctx, func(b *directory.Batch) error {
		for i := range 3000 {
			if _, err := b.CreateUser(directory.User{UID: fmt.Sprintf("user%04d", i)}); err != nil {
				return err
			}
		}
		return nil
	}))
	for name, create := range map[string]func() error{
		"user":  func() error { _, err := d.CreateUser(ctx, directory.User{UID: "newcomer"}); return err },
		"group": func() error { _, err := d.CreateGroup(ctx, directory.Group{CN: "newgroup"}); return err },
	} {
		store.reads.Store(0)
		must(t, create())
		if n := store.reads.Load(); n > 30 {
			t.Errorf("creating a %s read %d records among 3000 users", name, n)
		} else {
			t.Logf("creating a %s read %d records", name, n)
		}
	}
}
