package directory_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/directory/password"
)

type clock = dirtest.Clock

func newClock() *clock { return dirtest.NewClock(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)) }

func openStore(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTestDir(t *testing.T, c *clock, opt directory.Options) *directory.Directory {
	t.Helper()
	s := openStore(t, filepath.Join(t.TempDir(), "atrium.db"))
	t.Cleanup(func() { s.Close() })
	if opt.PasswordParams == (password.Params{}) {
		opt.PasswordParams = password.TestParams
	}
	if c != nil {
		opt.Now = c.Now
	}
	d, err := directory.New(context.Background(), s, opt)
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
