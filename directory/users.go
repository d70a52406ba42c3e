package directory

import (
	"context"
	"fmt"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// FirstID is where uidNumber and gidNumber allocation starts.
const FirstID = 10000

var uidPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// ValidUID reports whether uid is an acceptable login name: letters, digits,
// '.', '_' and '-', at most 64 characters, not starting with '-' or '.'.
func ValidUID(uid string) bool {
	return uidPattern.MatchString(uid) && uid[0] != '-' && uid[0] != '.'
}

// maxNameLen bounds a person's names: longer ones are mistakes, and the
// common name is an index key.
const maxNameLen = 256

func (u *User) normalise() error {
	u.Mail = strings.TrimSpace(u.Mail)
	var problems []string
	if !ValidUID(u.UID) {
		problems = append(problems, fmt.Sprintf("uid %q: use letters, digits, '.', '_' and '-'", u.UID))
	}
	if u.Mail != "" {
		if a, err := mail.ParseAddress(u.Mail); err != nil || a.Address != u.Mail {
			problems = append(problems, fmt.Sprintf("mail %q is not an address", u.Mail))
		}
	}
	for _, name := range []struct{ field, value string }{{"given name", u.GivenName}, {"surname", u.Surname}, {"display name", u.DisplayName}} {
		if utf8.RuneCountInString(name.value) > maxNameLen || strings.ContainsAny(name.value, "\r\n") {
			problems = append(problems, fmt.Sprintf("%s: one line of at most %d characters", name.field, maxNameLen))
		}
	}
	if u.UIDNumber < 0 || u.GIDNumber < 0 {
		problems = append(problems, "uidNumber and gidNumber must not be negative")
	}
	for _, k := range u.SSHKeys {
		if strings.ContainsAny(k, "\r\n") || strings.TrimSpace(k) == "" {
			problems = append(problems, "an SSH key must be one non-empty line")
			break
		}
	}
	if u.HomeDirectory == "" {
		u.HomeDirectory = "/home/" + u.UID
	}
	if u.LoginShell == "" {
		u.LoginShell = "/bin/bash"
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %w", strings.Join(problems, "; "), ErrInvalid)
	}
	return nil
}

// CreateUser adds a user. ID, times and (when zero) uidNumber are assigned.
// A gidNumber of zero gives the user their private group; any other must be
// a group's, and the user joins it. It fails with ErrAlreadyExists if the
// uid, mail or uidNumber is taken (a group's gidNumber counts as taken).
func (d *Directory) CreateUser(ctx context.Context, u User) (User, error) {
	var created User
	err := d.store.Update(ctx, func(tx Tx) error {
		var err error
		// u stays as given: on etcd fn runs again after a conflict.
		created, err = createUser(tx, d.now().UTC(), u, nil)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("create user %s: %w", u.UID, err)
	}
	d.log.Info("user created", "uid", created.UID, "id", created.ID)
	return created, nil
}

// putUser writes u and moves its index entries from old (nil for a new
// user), after checking its numbers and primary group (see
// choosePrimaryGroup, which may set u.GIDNumber). The user joins a chosen
// primary group at once, or through joins when it is not nil. It returns u
// as written.
func putUser(tx Tx, old *User, u User, joins *primaryJoins) (User, error) {
	primary, err := choosePrimaryGroup(tx, old, &u)
	if err != nil {
		return u, err
	}
	if old == nil || old.UIDNumber != u.UIDNumber {
		if err := checkUIDNumber(tx, u.UIDNumber); err != nil {
			return u, err
		}
	}
	if err := putUserRecord(tx, old, u); err != nil {
		return u, err
	}
	switch {
	case primary == "":
		return u, nil
	case joins != nil:
		joins.add(primary, u.ID)
		return u, nil
	}
	return u, joinPrimaryGroup(tx, primary, u.ID, u)
}

func putUserRecord(tx Tx, old *User, u User) error {
	if old == nil || fold(old.UID) != fold(u.UID) {
		if err := claim(tx, ixUID, fold(u.UID), u.ID, "uid"); err != nil {
			return err
		}
	}
	if u.Mail != "" && (old == nil || fold(old.Mail) != fold(u.Mail)) {
		if err := claim(tx, ixMail, fold(u.Mail), u.ID, "mail"); err != nil {
			return err
		}
	}
	if old == nil || old.UIDNumber != u.UIDNumber {
		if err := claim(tx, ixUIDNumber, numKey(u.UIDNumber), u.ID, "uidNumber"); err != nil {
			return err
		}
	}
	if old != nil {
		if fold(old.UID) != fold(u.UID) {
			if err := tx.Delete(ixUID, fold(old.UID)); err != nil {
				return err
			}
		}
		if old.Mail != "" && fold(old.Mail) != fold(u.Mail) {
			if err := tx.Delete(ixMail, fold(old.Mail)); err != nil {
				return err
			}
		}
		if old.UIDNumber != u.UIDNumber {
			if err := tx.Delete(ixUIDNumber, numKey(old.UIDNumber)); err != nil {
				return err
			}
		}
		if err := tx.Delete(ixUserGID, numKey(old.GIDNumber)+"/"+u.ID); err != nil {
			return err
		}
		if err := tx.Delete(ixUserCN, userCNKey(*old)); err != nil {
			return err
		}
	}
	if err := tx.Put(ixUserGID, numKey(u.GIDNumber)+"/"+u.ID, nil); err != nil {
		return err
	}
	if err := tx.Put(ixUserCN, userCNKey(u), nil); err != nil {
		return err
	}
	if err := tx.Put(ixName, u.ID, []byte(u.UID)); err != nil {
		return err
	}
	return putJSON(tx, bUsers, u.ID, u)
}

// User finds a user by uid (without regard to case).
func (d *Directory) User(ctx context.Context, uid string) (User, error) {
	return view(ctx, d, func(r Reader) (User, error) { return r.UserByUID(uid) })
}

// UserByID finds a user by entryUUID.
func (d *Directory) UserByID(ctx context.Context, id string) (User, error) {
	return view(ctx, d, func(r Reader) (User, error) { return r.User(id) })
}

// UpdateUser changes the user named uid inside one transaction: fn gets the
// current record and edits it; the result is validated and re-indexed. ID
// and creation time cannot change. Concurrent updates never lose a write.
func (d *Directory) UpdateUser(ctx context.Context, uid string, fn func(*User) error) (User, error) {
	var out User
	err := d.store.Update(ctx, func(tx Tx) error {
		var err error
		out, err = updateUser(tx, d.now().UTC(), uid, fn)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("update user %s: %w", uid, err)
	}
	return out, nil
}

// SetPrimaryGroup makes group cn the primary group of the user named uid,
// who joins it; cn "" gives the user back their private group.
func (d *Directory) SetPrimaryGroup(ctx context.Context, uid, cn string) (User, error) {
	var out User
	err := d.store.Update(ctx, func(tx Tx) error {
		r := Reader{tx: tx}
		old, err := r.UserByUID(uid)
		if err != nil {
			return err
		}
		u := old
		u.GIDNumber = u.UIDNumber
		if cn != "" {
			g, err := r.GroupByCN(cn)
			if err != nil {
				return fmt.Errorf("group %s: %w", cn, err)
			}
			u.GIDNumber = g.GIDNumber
		}
		u.Modified = d.now().UTC()
		out, err = putUser(tx, &old, u, nil)
		return err
	})
	if err != nil {
		return User{}, fmt.Errorf("set primary group of %s: %w", uid, err)
	}
	d.log.Info("primary group set", "uid", out.UID, "gidNumber", out.GIDNumber)
	return out, nil
}

// updateUser is UpdateUser inside a transaction.
func updateUser(tx Tx, now time.Time, uid string, fn func(*User) error) (User, error) {
	old, err := Reader{tx: tx}.UserByUID(uid)
	if err != nil {
		return User{}, err
	}
	u := old
	u.SSHKeys = slices.Clone(old.SSHKeys)
	if err := fn(&u); err != nil {
		return User{}, err
	}
	u.ID, u.Created, u.PasswordChanged = old.ID, old.Created, old.PasswordChanged
	if err := u.normalise(); err != nil {
		return User{}, err
	}
	u.Modified = now
	return putUser(tx, &old, u, nil)
}

// RenameUser changes a user's uid. The entryUUID, and so group membership,
// stays; the home directory is left as it was, as usermod -l does.
func (d *Directory) RenameUser(ctx context.Context, oldUID, newUID string) (User, error) {
	return d.UpdateUser(ctx, oldUID, func(u *User) error {
		u.UID = newUID
		return nil
	})
}

// SetDisabled disables or enables a user. A disabled user cannot sign in
// anywhere.
func (d *Directory) SetDisabled(ctx context.Context, uid string, disabled bool) (User, error) {
	u, err := d.UpdateUser(ctx, uid, func(u *User) error {
		u.Disabled = disabled
		return nil
	})
	if err == nil {
		d.binds.forget(u.ID)
	}
	return u, err
}

// DeleteUser removes a user, its credentials, second factors and
// memberships, in one transaction.
func (d *Directory) DeleteUser(ctx context.Context, uid string) error {
	userID := func(r Reader) (string, error) { return r.UserIDByUID(uid) }
	if err := d.leaveManyGroups(ctx, userID); err != nil {
		return fmt.Errorf("delete user %s: %w", uid, err)
	}
	var id string
	err := d.store.Update(ctx, func(tx Tx) error {
		u, err := Reader{tx: tx}.UserByUID(uid)
		if err != nil {
			return err
		}
		id = u.ID
		if err := removeFromAllGroups(tx, u.ID, d.now().UTC()); err != nil {
			return err
		}
		if _, err := deleteMFA(tx, u.ID); err != nil {
			return err
		}
		for _, del := range [][2]string{
			{ixUID, fold(u.UID)}, {ixUIDNumber, numKey(u.UIDNumber)},
			{ixUserGID, numKey(u.GIDNumber) + "/" + u.ID}, {ixUserCN, userCNKey(u)},
			{bCreds, u.ID}, {bUsers, u.ID}, {ixName, u.ID},
		} {
			if err := tx.Delete(del[0], del[1]); err != nil {
				return err
			}
		}
		if u.Mail != "" {
			return tx.Delete(ixMail, fold(u.Mail))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete user %s: %w", uid, err)
	}
	d.binds.forget(id)
	d.log.Info("user deleted", "uid", uid, "id", id)
	return nil
}

// ListUsers returns every user in uid order.
func (d *Directory) ListUsers(ctx context.Context) ([]User, error) {
	return view(ctx, d, func(r Reader) ([]User, error) {
		var out []User
		return out, r.Users("", func(u User) error {
			out = append(out, u)
			return nil
		})
	})
}
