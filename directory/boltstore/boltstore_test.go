package boltstore_test

import (
	"path/filepath"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) directory.Store {
		s, err := boltstore.Open(filepath.Join(t.TempDir(), "atrium.db"), 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
