package ldif

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
)

// testNow is the clock of every test directory.
var testNow = time.Date(2026, 11, 22, 12, 0, 0, 123456789, time.UTC)

func newDir(t *testing.T) *directory.Directory {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(t.TempDir(), "atrium.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d, err := directory.New(context.Background(), s, directory.Options{
		Now:            func() time.Time { return testNow },
		PasswordParams: password.TestParams,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testLayout(t *testing.T) Layout {
	t.Helper()
	l, err := NewLayout("dc=example,dc=com")
	must(t, err)
	return l
}
