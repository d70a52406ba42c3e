package directory

import (
	"context"
	"errors"
	"fmt"
)

// The first administrator, and the group that makes a user one.
const (
	AdminUID    = "admin"
	AdminsGroup = "admins"
)

// firstAdmin is the user the first start makes. Its mail tells it from an
// admin user made by hand.
var firstAdmin = User{UID: AdminUID, Mail: "admin@localhost.localdomain", DisplayName: "Administrator"}

// NeedsSetup reports whether the directory still needs its first
// administrator: it is empty, or it holds only what a first start of an
// earlier version left when it was interrupted (the admin user it makes,
// without the admins group). An admin user made by hand is left alone.
func (d *Directory) NeedsSetup(ctx context.Context) (bool, error) {
	return view(ctx, d, needsSetup)
}

func needsSetup(r Reader) (bool, error) {
	anyGroup := false
	err := r.Groups("", func(Group) error {
		anyGroup = true
		return ErrStop
	})
	if anyGroup || err != nil {
		return false, err
	}
	var users []User
	err = r.Users("", func(u User) error {
		users = append(users, u)
		if len(users) > 1 {
			return ErrStop
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return len(users) == 0 || (len(users) == 1 && users[0].UID == AdminUID && users[0].Mail == firstAdmin.Mail), nil
}

// Setup makes the first administrator in one transaction: the user admin
// (kept if an interrupted earlier first start left it) with password p, in
// the new group admins. It fails with ErrAlreadyExists when NeedsSetup no
// longer holds, so it never touches a directory that is in use.
func (d *Directory) Setup(ctx context.Context, p Password) error {
	err := d.Batch(ctx, func(b *Batch) error {
		need, err := needsSetup(b.Reader())
		if err != nil {
			return err
		}
		if !need {
			return fmt.Errorf("the directory is already set up: %w", ErrAlreadyExists)
		}
		admin, err := b.Reader().UserByUID(AdminUID)
		if errors.Is(err, ErrNotFound) {
			admin, err = b.CreateUser(firstAdmin)
		}
		if err != nil {
			return err
		}
		if err := b.SetPassword(admin.ID, p); err != nil {
			return err
		}
		_, err = b.CreateGroup(Group{CN: AdminsGroup, Description: "Atrium administrators", Users: []string{admin.ID}})
		return err
	})
	if err != nil {
		return fmt.Errorf("set up the first administrator: %w", err)
	}
	return nil
}
