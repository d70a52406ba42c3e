package etcdstore

import (
	"context"
	"errors"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// TestSettingsChangeReachesOtherNode: an admin on A makes staff bind over
// LDAP with app passwords only; B, which has just accepted alice's
// password (and remembers it), refuses it at the next bind, and its
// settings read the change.
func TestSettingsChangeReachesOtherNode(t *testing.T) {
	ctx := context.Background()
	a, b, _, _ := twoDirectories(t)
	_, err := a.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	must(t, a.SetPassword(ctx, "alice", "old password 1"))
	_, err = a.CreateGroup(ctx, directory.Group{CN: "staff"})
	must(t, err)
	_, err = a.ChangeMembers(ctx, "staff", []directory.MemberRef{{Name: "alice"}}, nil)
	must(t, err)
	must(t, login(b, "ldap", "old password 1"))

	must(t, a.SetSettings(ctx, map[string]string{directory.KeyAppPasswordOnly: "staff"}, directory.Changer{Actor: "ada", Service: "console"}))
	if err := login(b, "ldap", "old password 1"); !errors.Is(err, directory.ErrBadCredentials) {
		t.Fatalf("a password bind on B after A made staff app-password-only: %v, want ErrBadCredentials", err)
	}
	if got := b.Settings().AppPasswordOnlyGroups; len(got) != 1 || got[0] != "staff" {
		t.Errorf("B's settings: %v", got)
	}
}
