package directory_test

import (
	"context"
	"errors"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

func groupNamed(t *testing.T, d *directory.Directory, cn string) (directory.Group, error) {
	t.Helper()
	var g directory.Group
	err := d.View(context.Background(), func(ctx context.Context, r directory.Reader) error {
		var err error
		g, err = r.GroupByCN(cn)
		return err
	})
	return g, err
}

// TestGroupNamesMatchAsCaseIgnoreMatch: a group's name is found however an
// LDAP client spaces or cases it, two names that LDAP holds equal cannot
// both exist, and a rename that changes only case or spacing is kept
// everywhere the name is shown.
func TestGroupNamesMatchAsCaseIgnoreMatch(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	made, err := d.CreateGroup(ctx, directory.Group{CN: "Staff  Team"})
	must(t, err)
	for _, cn := range []string{"Staff  Team", "staff team", "  STAFF TEAM ", "staff   team"} {
		if g, err := groupNamed(t, d, cn); err != nil || g.ID != made.ID {
			t.Errorf("group %q: %+v, %v", cn, g, err)
		}
	}
	if _, err := groupNamed(t, d, "staffteam"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("group staffteam: %v, want not found", err)
	}
	if _, err := d.CreateGroup(ctx, directory.Group{CN: "staff team"}); !errors.Is(err, directory.ErrAlreadyExists) {
		t.Errorf("second group differing only in spacing: %v, want ErrAlreadyExists", err)
	}
	_, err = d.UpdateGroup(ctx, "staff team", func(g *directory.Group) error { g.CN = "STAFF Team"; return nil })
	must(t, err)
	must(t, d.View(ctx, func(ctx context.Context, r directory.Reader) error {
		name, err := r.Name(made.ID)
		if name != "STAFF Team" {
			t.Errorf("name of the renamed group = %q, %v", name, err)
		}
		return nil
	}))
	if g, err := groupNamed(t, d, "staff team"); err != nil || g.CN != "STAFF Team" {
		t.Errorf("after the rename: %+v, %v", g, err)
	}
}

// TestSchema2StoreRekeysGroupNames opens a store whose group name index was
// keyed as schema 2 kept it (case folded, spaces as given) and finds the
// group however it is spaced after the migration.
func TestSchema2StoreRekeysGroupNames(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, filepath.Join(t.TempDir(), "atrium.db"))
	t.Cleanup(func() { s.Close() })
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams})
	must(t, err)
	ops, err := d.CreateGroup(ctx, directory.Group{CN: "Ops  Team"})
	must(t, err)
	dev, err := d.CreateGroup(ctx, directory.Group{CN: "dev"})
	must(t, err)
	must(t, d.Close())
	must(t, s.Update(ctx, func(tx directory.Tx) error {
		if err := tx.Delete("ix.cn", "ops team"); err != nil {
			return err
		}
		if err := tx.Put("ix.cn", "ops  team", []byte(ops.ID)); err != nil {
			return err
		}
		return tx.Put("meta", "schema", []byte("2"))
	}))

	d, err = directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams})
	must(t, err)
	t.Cleanup(func() { d.Close() })
	for cn, want := range map[string]string{"ops team": ops.ID, "OPS  TEAM": ops.ID, "dev": dev.ID} {
		if g, err := groupNamed(t, d, cn); err != nil || g.ID != want {
			t.Errorf("after the migration, group %q: %+v, %v", cn, g, err)
		}
	}
	must(t, s.View(ctx, func(tx directory.Tx) error {
		if _, err := tx.Get("ix.cn", "ops  team"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("old key left behind: %v", err)
		}
		v, err := tx.Get("meta", "schema")
		if err != nil || string(v) != strconv.Itoa(directory.SchemaVersion) {
			t.Errorf("schema after the migration = %q, %v", v, err)
		}
		return nil
	}))
}
