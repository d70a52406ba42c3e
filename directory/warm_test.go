package directory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// Warm decodes the large groups before any search asks for them, so that
// the first membership searches after a start cost what later ones do.
func TestWarmDecodesLargeGroups(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	if err := d.Warm(ctx); err != nil {
		t.Fatalf("warm an empty directory: %v", err)
	}
	var members []directory.MemberRef
	for i := range 60 { // well over the size worth caching
		u, err := d.CreateUser(ctx, directory.User{UID: fmt.Sprintf("w%02d", i)})
		if err != nil {
			t.Fatal(err)
		}
		members = append(members, directory.MemberRef{Name: u.UID})
	}
	for _, cn := range []string{"big", "small"} {
		if _, err := d.CreateGroup(ctx, directory.Group{CN: cn}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.ChangeMembers(ctx, "big", members, nil); err != nil {
		t.Fatal(err)
	}
	directory.ForgetDecodedGroups()
	if err := d.Warm(ctx); err != nil {
		t.Fatal(err)
	}
	if n := directory.DecodedGroups(); n != 1 {
		t.Fatalf("%d groups decoded after Warm, want the large one", n)
	}
}
