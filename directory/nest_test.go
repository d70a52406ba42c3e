package directory_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// A Directory method called inside View, with the context View hands over,
// is refused instead of opening a second transaction that can deadlock
// the store; the Reader answers the same question.
func TestNestedTransactionRefused(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{Samba: true, SecretKey: testKey})
	u, err := d.CreateUser(ctx, directory.User{UID: "alice", UIDNumber: 10001})
	must(t, err)
	must(t, d.SetPassword(ctx, "alice", "alice-password"))
	if _, err := d.Authenticate(ctx, directory.Login{Name: "alice", Password: "wrong"}); err == nil {
		t.Fatal("a wrong password was accepted")
	}
	must(t, d.View(ctx, func(ctx context.Context, r directory.Reader) error {
		nt, err := r.NTHash(u.ID)
		if err != nil || len(nt) != 16 {
			t.Errorf("Reader.NTHash = %x, %v", nt, err)
		}
		derived, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		nested := map[string]error{
			"NTHash (a read)":       second(d.NTHash(ctx, u.ID)),
			"User, derived context": second(d.User(derived, "alice")),
			"Backup (a whole read)": second(d.Backup(ctx, io.Discard)),
			"AuditEvents":           second(d.AuditEvents(ctx, directory.AuditQuery{})),
		}
		// Last: a write that waits here stops every later read.
		nested["SetPassword (a write)"] = nestedWrite(t, func() error { return d.SetPassword(ctx, "alice", "other-password") })
		for call, err := range nested {
			if !errors.Is(err, directory.ErrNestedTransaction) {
				t.Errorf("%s inside View: %v, want ErrNestedTransaction", call, err)
			}
		}
		return nil
	}))
	if _, err := d.NTHash(ctx, u.ID); err != nil {
		t.Errorf("NTHash after View: %v", err)
	}
	if _, err := d.Authenticate(ctx, directory.Login{Name: "alice", Password: "alice-password"}); err != nil {
		t.Errorf("the refused SetPassword changed the password: %v", err)
	}
}

// nestedWrite runs write, which must not wait for the transaction it is
// called in: that wait would never end.
func nestedWrite(t *testing.T, write func() error) error {
	done := make(chan error, 1)
	go func() { done <- write() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Error("a write inside View waits for View's own transaction")
		return nil
	}
}

func second[T any](_ T, err error) error { return err }
