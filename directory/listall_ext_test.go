package directory_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// TestUserRecordsAndAllGroupsInIndexOrder: UserRecords and AllGroups,
// which read the records in one pass and sort them, list what Users and
// Groups list, in the same order (uids that share their first 8 bytes too).
func TestUserRecordsAndAllGroupsInIndexOrder(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, newClock(), directory.Options{})
	for _, uid := range []string{"zed", "Alice", "bob", "alice2", "Bob_", "carol.x", "operator10", "Operator9", "operator1", "operator", "op"} {
		_, err := d.CreateUser(ctx, directory.User{UID: uid, Mail: uid + "@example.com", SSHKeys: []string{"ssh-ed25519 AAAA " + uid}})
		must(t, err)
	}
	for _, cn := range []string{"Staff", "admins", "Zeta team", "beta", "alpha  two"} {
		_, err := d.CreateGroup(ctx, directory.Group{CN: cn, Description: "the " + cn})
		must(t, err)
	}
	alice, err := d.User(ctx, "alice")
	must(t, err)
	_, err = d.UpdateGroup(ctx, "staff", func(g *directory.Group) error {
		g.Users = append(g.Users, alice.ID)
		return nil
	})
	must(t, err)
	must(t, d.View(ctx, func(_ context.Context, r directory.Reader) error {
		var users []directory.User
		must(t, r.Users("", func(u directory.User) error {
			users = append(users, u)
			return nil
		}))
		var groups []directory.Group
		must(t, r.Groups("", func(g directory.Group) error {
			groups = append(groups, g)
			return nil
		}))
		recs, err := r.UserRecords()
		must(t, err)
		all := make([]directory.User, recs.Len())
		for i := range all {
			must(t, recs.Decode(i, &all[i]))
			if recs.ID(i) != all[i].ID {
				t.Errorf("user %d: ID %s, decoded %s", i, recs.ID(i), all[i].ID)
			}
		}
		if !reflect.DeepEqual(all, users) {
			t.Errorf("UserRecords:\n%+v\nUsers:\n%+v", all, users)
		}
		allGroups, err := r.AllGroups()
		must(t, err)
		if !reflect.DeepEqual(values(allGroups), groups) {
			t.Errorf("AllGroups:\n%+v\nGroups:\n%+v", allGroups, groups)
		}
		return nil
	}))
}

func values[T any](ptrs []*T) []T {
	out := make([]T, len(ptrs))
	for i, p := range ptrs {
		out[i] = *p
	}
	return out
}
