package boltstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/atrium-dir/atrium/directory"
)

// Sole declares that no server works on the store (a command has the file
// to itself), so BulkUpdate may build the update in a copy of the file,
// holding off the process's other transactions until it ends; a server's
// readers would wait for a whole import. Without it, BulkUpdate is Update.
func (s *Store) Sole() { s.sole.Store(true) }

// BulkUpdate runs fn as Update does, all or nothing, but for a store
// declared Sole it writes into a copy of the file, in transactions that end
// at each Checkpoint and are not synced, then syncs the copy and renames it
// over the file. The memory is then one checkpoint's writes, not the whole
// update's. A crash or an error before the rename leaves the file as it
// was (and a copy, removed by the next BulkUpdate). Other transactions of
// the process (the audit log's) wait until it ends.
func (s *Store) BulkUpdate(ctx context.Context, fn func(directory.Tx) error) error {
	if !s.sole.Load() {
		return s.Update(ctx, fn)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tmp := s.path + ".bulk"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("bulk update: %w", err)
	}
	err := s.db.View(func(btx *bolt.Tx) error { return btx.CopyFile(tmp, 0o600) })
	if err != nil {
		return fmt.Errorf("bulk update: copy: %w", err)
	}
	if err := buildCopy(tmp, fn); err != nil {
		os.Remove(tmp)
		return err
	}
	return s.replaceWith(tmp)
}

// buildCopy runs fn on the copy at path and syncs the result.
func buildCopy(path string, fn func(directory.Tx) error) error {
	db, err := openFile(path, 0, true)
	if err != nil {
		return fmt.Errorf("bulk update: %w", err)
	}
	defer db.Close()
	bt := &bulkTx{db: db, filled: map[string]bool{}}
	if bt.tx.b, err = db.Begin(true); err != nil {
		return fmt.Errorf("bulk update: %w", err)
	}
	if err := fn(bt); err != nil {
		bt.tx.b.Rollback()
		return err
	}
	if err := bt.tx.b.Commit(); err != nil {
		return fmt.Errorf("bulk update: commit: %w", err)
	}
	if err := db.Sync(); err != nil {
		return fmt.Errorf("bulk update: sync: %w", err)
	}
	return nil
}

// replaceWith renames the synced copy at tmp over the store's file (s.mu
// held). The
// copy is opened (and locked) first, so no other process finds the new
// file unlocked between the rename and the switch.
func (s *Store) replaceWith(tmp string) error {
	db, err := openFile(tmp, 0, false)
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("bulk update: %w", err)
	}
	if err := os.Rename(tmp, s.path); err != nil {
		db.Close()
		os.Remove(tmp)
		return fmt.Errorf("bulk update: %w", err)
	}
	if err := syncDir(filepath.Dir(s.path)); err != nil {
		db.Close()
		return fmt.Errorf("bulk update: the new file is in place but may not survive a crash: %w", err)
	}
	old := s.db
	s.db = db
	return old.Close()
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// bulkTx is the Tx of a BulkUpdate: a bbolt transaction on the copy that a
// Checkpoint commits (unsynced) and begins anew.
type bulkTx struct {
	tx
	db     *bolt.DB
	filled map[string]bool // buckets being appended to in key order
}

func (t *bulkTx) Appending(bucket string) {
	t.filled[bucket] = true
	t.tx.Appending(bucket)
}

func (t *bulkTx) Checkpoint() error {
	if err := t.tx.b.Commit(); err != nil {
		return fmt.Errorf("bulk update: commit: %w", err)
	}
	b, err := t.db.Begin(true)
	if err != nil {
		return fmt.Errorf("bulk update: %w", err)
	}
	t.tx.b = b
	for bucket := range t.filled {
		t.tx.Appending(bucket)
	}
	return nil
}
