package etcdstore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
)

// TestBackupIsABoltStore backs up a directory kept in etcd and opens the
// file as a single node's store, as `atrium restore` does.
func TestBackupIsABoltStore(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, newClient(t), freshPrefix())
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams})
	must(t, err)
	defer d.Close()
	_, err = d.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	_, err = d.CreateGroup(ctx, directory.Group{CN: "staff"})
	must(t, err)

	path := filepath.Join(t.TempDir(), "backup.db")
	f, err := os.Create(path)
	must(t, err)
	n, err := d.Backup(ctx, f)
	must(t, err)
	must(t, f.Close())
	if fi, err := os.Stat(path); err != nil || fi.Size() != n {
		t.Fatalf("Backup reported %d bytes, file: %v %v", n, fi, err)
	}

	b, err := boltstore.Open(path, 0)
	must(t, err)
	defer b.Close()
	must(t, b.Check())
	sn := s.snap.Load()
	keys := 0
	must(t, b.View(ctx, func(tx directory.Tx) error {
		sn.tree.Scan(func(k string, v []byte) bool {
			keys++
			bucket, key, _ := bytes.Cut([]byte(k), []byte{0})
			if got, err := tx.Get(string(bucket), string(key)); err != nil || !bytes.Equal(got, v) {
				t.Errorf("backup has %s/%s = %q, %v; etcd has %q", bucket, key, got, err, v)
			}
			return true
		})
		_, err := tx.Get("meta", "schema")
		return err
	}))
	if keys == 0 {
		t.Fatal("the mirror is empty")
	}
	restored, err := directory.New(ctx, b, directory.Options{PasswordParams: password.TestParams})
	must(t, err)
	defer restored.Close()
	if _, err := restored.User(ctx, "alice"); err != nil {
		t.Fatalf("the restored store lost alice: %v", err)
	}
}
