package etcdstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
)

// BenchmarkView compares a View's cost (one Get and one short prefix
// Scan among 10,000 records) on the etcd mirror and on a bbolt file.
func BenchmarkView(b *testing.B) {
	ctx := context.Background()
	bolt, err := boltstore.Open(filepath.Join(b.TempDir(), "atrium.db"), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer bolt.Close()
	etcd := openStore(b, newClient(b), freshPrefix())
	for _, s := range []directory.Store{bolt, etcd} {
		for chunk := range 100 {
			err := s.Update(ctx, func(tx directory.Tx) error {
				for i := range 100 {
					n := chunk*100 + i
					if err := tx.Put("users", fmt.Sprintf("u%05d", n), make([]byte, 600)); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	for name, s := range map[string]directory.Store{"bolt": bolt, "etcd": etcd} {
		b.Run(name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				i = (i + 7919) % 10000
				err := s.View(ctx, func(tx directory.Tx) error {
					if _, err := tx.Get("users", fmt.Sprintf("u%05d", i)); err != nil {
						return err
					}
					return tx.Scan("users", fmt.Sprintf("u%04d", i/10), "", func(string, []byte) error { return nil })
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
