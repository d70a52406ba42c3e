package boltstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
)

func openSole(t *testing.T, path string) *boltstore.Store {
	t.Helper()
	s, err := boltstore.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s.Sole()
	return s
}

func put(t *testing.T, s *boltstore.Store, key string) {
	t.Helper()
	if err := s.Update(context.Background(), func(tx directory.Tx) error { return tx.Put("b", key, []byte(key)) }); err != nil {
		t.Fatal(err)
	}
}

func has(t *testing.T, s *boltstore.Store, key string) bool {
	t.Helper()
	var found bool
	err := s.View(context.Background(), func(tx directory.Tx) error {
		_, err := tx.Get("b", key)
		found = err == nil
		if errors.Is(err, directory.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestBulkUpdateKeepsAllOrNothing: a bulk update that checkpoints and then
// fails leaves the file as it was, and one that succeeds keeps every
// checkpoint's writes, in the file the store and a later Open see.
func TestBulkUpdateKeepsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "atrium.db")
	s := openSole(t, path)
	put(t, s, "old")
	refused := errors.New("refused")
	err := s.BulkUpdate(ctx, func(tx directory.Tx) error {
		if err := tx.Put("b", "first", nil); err != nil {
			return err
		}
		if err := tx.(directory.Checkpointer).Checkpoint(); err != nil {
			return err
		}
		return refused
	})
	if !errors.Is(err, refused) {
		t.Fatalf("BulkUpdate returned %v, want the function's error", err)
	}
	if has(t, s, "first") || !has(t, s, "old") {
		t.Fatal("a failed bulk update changed the store")
	}
	if _, err := os.Stat(path + ".bulk"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the copy of a failed bulk update is still there: %v", err)
	}

	err = s.BulkUpdate(ctx, func(tx directory.Tx) error {
		if err := tx.Put("b", "first", nil); err != nil {
			return err
		}
		if err := tx.(directory.Checkpointer).Checkpoint(); err != nil {
			return err
		}
		return tx.Put("b", "second", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"old", "first", "second"} {
		if !has(t, s, k) {
			t.Errorf("after the bulk update the store lacks %q", k)
		}
	}
	put(t, s, "after") // the store goes on, on the new file
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openSole(t, path)
	defer s.Close()
	for _, k := range []string{"old", "first", "second", "after"} {
		if !has(t, s, k) {
			t.Errorf("reopened, the store lacks %q", k)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenWaitingForALockGetsTheNewFile: an Open that waits for the lock
// while a bulk update replaces the file opens the new file, not the old
// one that was renamed away under it.
func TestOpenWaitingForALockGetsTheNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "atrium.db")
	s := openSole(t, path)
	opened := make(chan *boltstore.Store)
	go func() {
		w, err := boltstore.Open(path, 10*time.Second)
		if err != nil {
			t.Error(err)
		}
		opened <- w
	}()
	time.Sleep(200 * time.Millisecond) // the Open above is waiting for the lock
	if err := s.BulkUpdate(context.Background(), func(tx directory.Tx) error { return tx.Put("b", "new", nil) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	w := <-opened
	if w == nil {
		return
	}
	defer w.Close()
	if !has(t, w, "new") {
		t.Fatal("the waiting Open got the file the bulk update replaced")
	}
}

// TestBulkUpdateWithoutSoleIsUpdate: a store not declared Sole (a server's)
// never swaps its file.
func TestBulkUpdateWithoutSoleIsUpdate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "atrium.db")
	s, err := boltstore.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	before, _ := os.Stat(path)
	err = s.BulkUpdate(context.Background(), func(tx directory.Tx) error {
		if _, ok := tx.(directory.Checkpointer); ok {
			t.Error("the Tx of a shared store's bulk update can checkpoint")
		}
		return tx.Put("b", "k", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := os.Stat(path)
	if !os.SameFile(before, after) || !has(t, s, "k") {
		t.Fatal("a bulk update on a shared store did not write in place")
	}
}
