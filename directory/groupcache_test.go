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
