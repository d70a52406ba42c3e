package directory_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

func usercnUIDs(t *testing.T, d *directory.Directory, cn string) []string {
	t.Helper()
	var uids []string
	must(t, d.View(context.Background(), func(ctx context.Context, r directory.Reader) error {
		return r.UsersByCommonName(cn, func(u directory.User) error {
			uids = append(uids, u.UID)
			return nil
		})
	}))
	slices.Sort(uids)
	return uids
}

// TestUsersByCommonName covers the lookup's rules: case and spaces as
// caseIgnoreMatch compares them, several holders of one name, and names
// holding '/' that another name is a prefix of.
func TestUsersByCommonName(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "atrium.db"))
	t.Cleanup(func() { s.Close() })
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams})
	must(t, err)
	t.Cleanup(func() { d.Close() })
	for _, u := range []directory.User{
		{UID: "ann", GivenName: "Ann", Surname: "Lee"},
		{UID: "ann2", DisplayName: "  ann   LEE "},
		{UID: "slash", DisplayName: "Ann Lee/ops"},
		{UID: "plain"},
	} {
		_, err := d.CreateUser(ctx, u)
		must(t, err)
	}
	for _, c := range []struct {
		cn   string
		want []string
	}{
		{"ann lee", []string{"ann", "ann2"}},
		{" ANN  Lee", []string{"ann", "ann2"}},
		{"Ann Lee/ops", []string{"slash"}},
		{"Ann", nil},
		{"PLAIN", []string{"plain"}}, // no names: the uid is the common name
	} {
		if got := usercnUIDs(t, d, c.cn); !slices.Equal(got, c.want) {
			t.Errorf("users with cn %q = %v, want %v", c.cn, got, c.want)
		}
	}
}

// TestSchema1StoreGainsCommonNameIndex opens a store as a schema 1 release
// left it, without ix.usercn, and finds its users by common name after the
// migration.
func TestSchema1StoreGainsCommonNameIndex(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "atrium.db"))
	t.Cleanup(func() { s.Close() })
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams})
	must(t, err)
	must(t, d.Batch(ctx, func(b *directory.Batch) error {
		for _, u := range []directory.User{
			{UID: "carol", GivenName: "Carol", Surname: "King"},
			{UID: "dan", DisplayName: "Dan the Admin"},
		} {
			if _, err := b.CreateUser(u); err != nil {
				return err
			}
		}
		return nil
	}))
	must(t, d.Close())
	must(t, s.Update(ctx, func(tx directory.Tx) error {
		var keys []string
		if err := tx.Scan("ix.usercn", "", "", func(k string, _ []byte) error {
			keys = append(keys, k)
			return nil
		}); err != nil {
			return err
		}
		if len(keys) != 2 {
			t.Errorf("ix.usercn holds %q, want one key per user", keys)
		}
		for _, k := range keys {
			if err := tx.Delete("ix.usercn", k); err != nil {
				return err
			}
		}
		return tx.Put("meta", "schema", []byte("1"))
	}))

	d, err = directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams})
	must(t, err)
	t.Cleanup(func() { d.Close() })
	if got := usercnUIDs(t, d, "carol king"); !slices.Equal(got, []string{"carol"}) {
		t.Errorf("after the migration, cn carol king = %v", got)
	}
	if got := usercnUIDs(t, d, "DAN THE ADMIN"); !slices.Equal(got, []string{"dan"}) {
		t.Errorf("after the migration, cn dan the admin = %v", got)
	}
	must(t, s.View(ctx, func(tx directory.Tx) error {
		v, err := tx.Get("meta", "schema")
		if err != nil || string(v) != strconv.Itoa(directory.SchemaVersion) {
			t.Errorf("schema after the migration = %q, %v", v, err)
		}
		return nil
	}))
	// The index is kept from then on.
	_, err = d.RenameUser(ctx, "dan", "daniel")
	must(t, err)
	if got := usercnUIDs(t, d, "dan the admin"); !slices.Equal(got, []string{"daniel"}) {
		t.Errorf("after a rename, cn dan the admin = %v", got)
	}
	must(t, d.DeleteUser(ctx, "daniel"))
	if got := usercnUIDs(t, d, "dan the admin"); got != nil {
		t.Errorf("after a delete, cn dan the admin = %v", got)
	}
	if _, err := d.User(ctx, "daniel"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("deleted user found: %v", err)
	}
}
