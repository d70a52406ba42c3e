package directory_test

import (
	"context"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
)

// A Memo gives back what was read until anything is written: a write
// after the read, or one between the read's start and Put, and a write
// that fails all count.
func TestMemoForgetsAtEveryWrite(t *testing.T) {
	ctx := context.Background()
	d := dirtest.New(t, nil)
	m := directory.NewMemo[string, int](d)

	mark := m.Mark()
	m.Put(mark, "k", 1)
	if v, ok := m.Get("k"); !ok || v != 1 {
		t.Fatalf("Get after Put: %d, %v; want 1, true", v, ok)
	}
	if _, err := d.CreateUser(ctx, directory.User{UID: "ann"}); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Get("k"); ok {
		t.Error("Get after a user was created still remembers the value")
	}

	mark = m.Mark()
	if err := d.PutState(ctx, "test", "x", 1, d.Now().Add(3600e9)); err != nil {
		t.Fatal(err)
	}
	m.Put(mark, "k", 2)
	if _, ok := m.Get("k"); ok {
		t.Error("a value read before a write and put after it is remembered")
	}

	mark = m.Mark()
	m.Put(mark, "k", 3)
	if _, err := d.CreateUser(ctx, directory.User{UID: "ann"}); err == nil {
		t.Fatal("creating ann twice succeeded")
	}
	if _, ok := m.Get("k"); ok {
		t.Error("Get after a refused write still remembers the value")
	}
}
