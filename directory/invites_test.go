package directory_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
)

// An invite sets the password once: the link then fails, as does an older
// link voided by a newer one, and one past its lifetime.
func TestInviteSingleUse(t *testing.T) {
	ctx := context.Background()
	clock := dirtest.NewClock(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	d := dirtest.New(t, clock.Now)
	if _, err := d.CreateUser(ctx, directory.User{UID: "bob", Mail: "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	old, err := d.CreateInvite(ctx, "bob", 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	token, err := d.CreateInvite(ctx, "bob", 72*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.InviteUser(ctx, old); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("a voided invite: %v, want ErrNotFound", err)
	}
	if u, err := d.InviteUser(ctx, token); err != nil || u.UID != "bob" {
		t.Fatalf("the live invite: %v, %v", u.UID, err)
	}
	p, _ := d.NewPassword("bob-new-password")
	if _, err := d.AcceptInvite(ctx, token, p); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Authenticate(ctx, directory.Login{Name: "bob", Password: "bob-new-password", Remote: "192.0.2.1", Service: "web"}); err != nil {
		t.Errorf("the invite's password does not sign in: %v", err)
	}
	if _, err := d.AcceptInvite(ctx, token, p); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("a used invite accepted again: %v", err)
	}
	late, _ := d.CreateInvite(ctx, "bob", time.Hour)
	clock.Advance(time.Hour)
	if _, err := d.InviteUser(ctx, late); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("an expired invite: %v, want ErrNotFound", err)
	}
}

// A search finds users by the start of uid, mail or common name, in uid
// order, page by page.
func TestSearchUsers(t *testing.T) {
	ctx := context.Background()
	d := dirtest.New(t, nil)
	for i := range 25 {
		u := directory.User{UID: fmt.Sprintf("user%02d", i), Mail: fmt.Sprintf("u%02d@example.com", i)}
		if i%5 == 0 {
			u.DisplayName = "Zed Person"
		}
		if _, err := d.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	for _, query := range []string{"", "user", "u"} {
		pageThrough(t, d, query)
	}
	for _, tc := range []struct {
		query string
		want  int
	}{{"USER1", 10}, {"u0", 10}, {"zed", 5}, {"u1", 10}, {"nobody", 0}} {
		page, err := d.SearchUsers(ctx, tc.query, "", 100)
		if err != nil || len(page.Users) != tc.want {
			t.Errorf("search %q: %d users, %v; want %d", tc.query, len(page.Users), err, tc.want)
		}
	}
	page, _ := d.SearchUsers(ctx, "zed", "user05", 100)
	if len(page.Users) != 3 || page.Users[0].UID != "user10" {
		t.Errorf("search zed after user05: %v", page.Users)
	}
}

// pageThrough pages through every user matching query, 10 at a time.
func pageThrough(t *testing.T, d *directory.Directory, query string) {
	t.Helper()
	var all []string
	for after := ""; ; {
		page, err := d.SearchUsers(context.Background(), query, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Users {
			all = append(all, u.UID)
		}
		if after = page.Next; after == "" {
			break
		}
	}
	if len(all) != 25 || all[0] != "user00" || all[24] != "user24" {
		t.Errorf("paging every user matching %q gave %v", query, all)
	}
}

// A limited prefix search lists the first users in uid order whichever
// index found them: users found by mail or name whose uids sort before
// the uid matches come first, and none is lost to the limit.
func TestPrefixSearchLimitKeepsTheFirstUIDs(t *testing.T) {
	ctx := context.Background()
	d := dirtest.New(t, nil)
	type person struct{ uid, mail, name string }
	var people []person
	for i := range 40 {
		p := person{uid: fmt.Sprintf("m%02d", i), mail: fmt.Sprintf("x%02d@example.com", i), name: fmt.Sprintf("Person %02d", i)}
		switch i % 4 {
		case 0:
			p.uid = fmt.Sprintf("a%02d", i) // found by mail only, sorts first
			p.mail = fmt.Sprintf("m%02d@example.com", i)
		case 1:
			p.uid = fmt.Sprintf("z%02d", i) // found by name only, sorts last
			p.name = fmt.Sprintf("M %02d", i)
		}
		people = append(people, p)
		if _, err := d.CreateUser(ctx, directory.User{UID: p.uid, Mail: p.mail, DisplayName: p.name}); err != nil {
			t.Fatal(err)
		}
	}
	var want []string
	for _, p := range people {
		if strings.HasPrefix(p.uid, "m") || strings.HasPrefix(p.mail, "m") || strings.HasPrefix(p.name, "M") {
			want = append(want, p.uid)
		}
	}
	slices.Sort(want)
	for _, limit := range []int{1, 3, 10, 25, 100} {
		page, err := d.SearchUsers(ctx, "m", "", limit)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, u := range page.Users {
			got = append(got, u.UID)
		}
		if w := want[:min(limit, len(want))]; !slices.Equal(got, w) {
			t.Errorf("limit %d: %v, want %v", limit, got, w)
		}
	}
}
