package dirtest

import (
	"context"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// AddPeople adds the people the sign-in front ends' tests share: alice
// (given name and surname), bob (display name) and carol (mail only), each
// with the password "<uid>-password"; and the groups staff (alice, carol),
// everyone (the group staff) and contractors (bob).
func AddPeople(tb testing.TB, d *directory.Directory) {
	tb.Helper()
	ctx := context.Background()
	for _, u := range []directory.User{
		{UID: "alice", Mail: "alice@example.com", GivenName: "Alice", Surname: "Liddell"},
		{UID: "bob", Mail: "bob@example.com", DisplayName: "Bob Builder"},
		{UID: "carol", Mail: "carol@example.com"},
	} {
		if _, err := d.CreateUser(ctx, u); err != nil {
			tb.Fatal(err)
		}
		if err := d.SetPassword(ctx, u.UID, u.UID+"-password"); err != nil {
			tb.Fatal(err)
		}
	}
	for _, g := range []string{"staff", "everyone", "contractors"} {
		if _, err := d.CreateGroup(ctx, directory.Group{CN: g}); err != nil {
			tb.Fatal(err)
		}
	}
	for cn, members := range map[string][]directory.MemberRef{
		"staff":       {{Name: "alice"}, {Name: "carol"}},
		"everyone":    {{Group: true, Name: "staff"}},
		"contractors": {{Name: "bob"}},
	} {
		if _, err := d.ChangeMembers(ctx, cn, members, nil); err != nil {
			tb.Fatal(err)
		}
	}
}
