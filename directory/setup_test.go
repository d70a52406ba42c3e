package directory_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

// adminInAdmins fails unless admin logs in with pw and is the one member
// of admins.
func adminInAdmins(t *testing.T, d *directory.Directory, pw string) directory.User {
	t.Helper()
	ctx := context.Background()
	admin, err := d.User(ctx, directory.AdminUID)
	must(t, err)
	g, err := d.Group(ctx, directory.AdminsGroup)
	must(t, err)
	if !slices.Equal(g.Users, []string{admin.ID}) {
		t.Errorf("admins holds %v, want [%s]", g.Users, admin.ID)
	}
	if _, err := d.Authenticate(ctx, directory.Login{Name: directory.AdminUID, Password: pw}); err != nil {
		t.Errorf("admin cannot log in with the set-up password: %v", err)
	}
	return admin
}

func TestSetupEmptyDirectory(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	need, err := d.NeedsSetup(ctx)
	must(t, err)
	if !need {
		t.Fatal("an empty directory does not need setting up")
	}
	p, err := d.NewPassword("first-admin-password")
	must(t, err)
	must(t, d.Setup(ctx, p))
	adminInAdmins(t, d, "first-admin-password")
	if need, _ := d.NeedsSetup(ctx); need {
		t.Error("a set-up directory still needs setting up")
	}
	if err := d.Setup(ctx, p); !errors.Is(err, directory.ErrAlreadyExists) {
		t.Errorf("second Setup: %v, want ErrAlreadyExists", err)
	}
}

// An earlier version created admin, set its password and created admins
// in three transactions; a crash after the first left admin alone.
func TestSetupRepairsAnInterruptedFirstStart(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	left, err := d.CreateUser(ctx, directory.User{UID: directory.AdminUID, Mail: "admin@localhost.localdomain", DisplayName: "Administrator"})
	must(t, err)
	need, err := d.NeedsSetup(ctx)
	must(t, err)
	if !need {
		t.Fatal("admin without admins does not need setting up")
	}
	p, err := d.NewPassword("repaired-admin-password")
	must(t, err)
	must(t, d.Setup(ctx, p))
	if admin := adminInAdmins(t, d, "repaired-admin-password"); admin.ID != left.ID {
		t.Errorf("setup replaced the admin user left behind (%s, was %s)", admin.ID, left.ID)
	}
}

func TestSetupLeavesADirectoryInUseAlone(t *testing.T) {
	ctx := context.Background()
	for name, prepare := range map[string]func(d *directory.Directory) error{
		"an admin made by hand": func(d *directory.Directory) error {
			_, err := d.CreateUser(ctx, directory.User{UID: "admin", Mail: "me@example.com"})
			return err
		},
		"a user other than admin": func(d *directory.Directory) error {
			_, err := d.CreateUser(ctx, directory.User{UID: "alice"})
			return err
		},
		"admin and another user": func(d *directory.Directory) error {
			if _, err := d.CreateUser(ctx, directory.User{UID: "admin", Mail: "admin@localhost.localdomain"}); err != nil {
				return err
			}
			_, err := d.CreateUser(ctx, directory.User{UID: "bob"})
			return err
		},
		"a group": func(d *directory.Directory) error {
			_, err := d.CreateGroup(ctx, directory.Group{CN: "staff"})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			d := newTestDir(t, nil, directory.Options{})
			must(t, prepare(d))
			if need, err := d.NeedsSetup(ctx); err != nil || need {
				t.Errorf("NeedsSetup = %v, %v; want false", need, err)
			}
			p, err := d.NewPassword("not-to-be-set-pw")
			must(t, err)
			if err := d.Setup(ctx, p); !errors.Is(err, directory.ErrAlreadyExists) {
				t.Errorf("Setup: %v, want ErrAlreadyExists", err)
			}
			if _, err := d.Group(ctx, directory.AdminsGroup); !errors.Is(err, directory.ErrNotFound) {
				t.Errorf("Setup made admins in a directory in use: %v", err)
			}
		})
	}
}

// A Batch that creates a user, changes it and then fails keeps nothing.
func TestBatchKeepsNothingWhenAStepFails(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	_, err := d.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	p, err := d.NewPassword("batch-password")
	must(t, err)
	err = d.Batch(ctx, func(b *directory.Batch) error {
		u, err := b.CreateUser(directory.User{UID: "carol"})
		if err != nil {
			return err
		}
		if err := b.SetPassword(u.ID, p); err != nil {
			return err
		}
		if _, err := b.UpdateUser("alice", func(u *directory.User) error { u.DisplayName = "Changed"; return nil }); err != nil {
			return err
		}
		// alice's mail is taken: the whole batch must go.
		_, err = b.UpdateUser("carol", func(u *directory.User) error { u.Mail = "alice@example.com"; return nil })
		return err
	})
	if !errors.Is(err, directory.ErrAlreadyExists) {
		t.Fatalf("batch: %v, want ErrAlreadyExists", err)
	}
	if _, err := d.User(ctx, "carol"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("carol outlived the failed batch: %v", err)
	}
	if a, _ := d.User(ctx, "alice"); a.DisplayName != "" {
		t.Errorf("alice's change outlived the failed batch: %q", a.DisplayName)
	}
}

func TestNewPasswordChecksThePolicy(t *testing.T) {
	d := newTestDir(t, nil, directory.Options{})
	if _, err := d.NewPassword("short"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("NewPassword(short): %v, want ErrInvalid", err)
	}
	if _, err := directory.HashedPassword("{NOPE}abc"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("HashedPassword of an unknown scheme: %v, want ErrInvalid", err)
	}
}

// A hash stands in for a password only when an admin gives it, and only
// when it parses; a user's own password goes through the policy.
func TestClientPasswordRules(t *testing.T) {
	d := newTestDir(t, nil, directory.Options{})
	const validSSHA = "{SSHA}NSZEu/ZzEMKdBO5ESNEYml3qKRYBAgMEBQYHCA=="
	cases := []struct {
		value   string
		byAdmin bool
		want    error
	}{
		{validSSHA, false, directory.ErrNotPermitted},
		{"{ssha}anything", false, directory.ErrNotPermitted},
		{"short", false, directory.ErrInvalid},
		{"long enough", false, nil},
		{"{SSHA}xxxx", true, password.ErrMalformed},
		{"{NOPE}abc", true, password.ErrUnsupportedScheme},
		{validSSHA, true, nil},
		{"short", true, directory.ErrInvalid},
	}
	for _, c := range cases {
		_, err := d.ClientPassword(c.value, c.byAdmin)
		if (c.want == nil) != (err == nil) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("ClientPassword(%q, admin %v) = %v, want %v", c.value, c.byAdmin, err, c.want)
		}
	}
	if _, err := directory.HashedPassword("{SSHA}xxxx"); !errors.Is(err, directory.ErrInvalid) || !errors.Is(err, password.ErrMalformed) {
		t.Errorf("HashedPassword({SSHA}xxxx) = %v, want ErrInvalid and ErrMalformed", err)
	}
}
