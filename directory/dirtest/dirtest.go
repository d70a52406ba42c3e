// Package dirtest gives tests of other packages a real Directory: bbolt on
// a temporary file, cheap password hashing, a secrets key, and cleanup.
package dirtest

import (
	"context"
	"crypto/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
)

// New opens a Directory for tb with clock now (time.Now when nil). It is
// closed when the test ends.
func New(tb testing.TB, now func() time.Time) *directory.Directory {
	tb.Helper()
	s, err := boltstore.Open(filepath.Join(tb.TempDir(), "atrium.db"), time.Second)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	key := make([]byte, 32)
	rand.Read(key)
	d, err := directory.New(context.Background(), s, directory.Options{Now: now, PasswordParams: password.TestParams, SecretKey: key})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}
