package directory_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// Large groups are decoded once and then served from memory; what a reader
// gets must still be the record as stored now, and its own to change.
func TestLargeGroupReadsStayCurrent(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	var members []directory.MemberRef
	for i := range 60 { // well over the size worth caching
		u, err := d.CreateUser(ctx, directory.User{UID: fmt.Sprintf("m%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, directory.MemberRef{Name: u.UID})
	}
	if _, err := d.CreateGroup(ctx, directory.Group{CN: "big", Description: "before"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ChangeMembers(ctx, "big", members, nil); err != nil {
		t.Fatal(err)
	}
	read := func() directory.Group {
		t.Helper()
		g, err := d.Group(ctx, "big")
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	first := read()
	if len(first.Users) != 60 {
		t.Fatalf("%d members", len(first.Users))
	}
	first.Users[0] = "scribbled"
	if again := read(); again.Users[0] == "scribbled" || !slices.Equal(again.Users[1:], first.Users[1:]) {
		t.Fatal("a reader's change to its copy reached the next reader")
	}
	if _, err := d.UpdateGroup(ctx, "big", func(g *directory.Group) error { g.Description = ""; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ChangeMembers(ctx, "big", nil, members[:10]); err != nil {
		t.Fatal(err)
	}
	if now := read(); now.Description != "" || len(now.Users) != 50 {
		t.Fatalf("stale group: description %q, %d members", now.Description, len(now.Users))
	}
}

// GroupRef hands out a group's members without copying them; what it
// answers must match the full record, for large (packed) and small groups.
func TestGroupRefMembersMatchTheRecord(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	var users []directory.MemberRef
	for i := range 60 {
		u, err := d.CreateUser(ctx, directory.User{UID: fmt.Sprintf("r%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, directory.MemberRef{Name: u.UID})
	}
	outsider, err := d.CreateUser(ctx, directory.User{UID: "outsider"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		cn      string
		members []directory.MemberRef
	}{{"large", users}, {"small", users[:2]}} {
		if _, err := d.CreateGroup(ctx, directory.Group{CN: "sub-" + c.cn}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.CreateGroup(ctx, directory.Group{CN: c.cn}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.ChangeMembers(ctx, c.cn, append(slices.Clone(c.members), directory.MemberRef{Group: true, Name: "sub-" + c.cn}), nil); err != nil {
			t.Fatal(err)
		}
		full, err := d.Group(ctx, c.cn)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := d.Group(ctx, "sub-"+c.cn)
		if err != nil {
			t.Fatal(err)
		}
		err = d.View(ctx, func(ctx context.Context, r directory.Reader) error {
			for range 2 { // the second read of the large group is a cache hit
				g, m, err := r.GroupRef(full.ID)
				if err != nil {
					return err
				}
				if g.CN != c.cn || g.Users != nil || g.Groups != nil {
					t.Errorf("%s: record %+v should come without member lists", c.cn, g)
				}
				if !slices.Equal(m.UserIDs(), full.Users) || !slices.Equal(m.GroupIDs(), []string{sub.ID}) {
					t.Errorf("%s: members %v %v, want %v %v", c.cn, m.UserIDs(), m.GroupIDs(), full.Users, []string{sub.ID})
				}
				if !m.HasUser(full.Users[len(full.Users)-1]) || m.HasUser(outsider.ID) || m.HasUser(sub.ID) {
					t.Errorf("%s: HasUser is wrong", c.cn)
				}
				if !m.HasGroup(sub.ID) || m.HasGroup(full.Users[0]) {
					t.Errorf("%s: HasGroup is wrong", c.cn)
				}
				m.UserIDs()[0] = "scribbled" // the caller's own copy
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
