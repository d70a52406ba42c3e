package directory_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// countingStore counts the transactions that go through it.
type countingStore struct {
	directory.Store
	views, updates atomic.Int64
}

func (s *countingStore) View(ctx context.Context, fn func(directory.Tx) error) error {
	s.views.Add(1)
	return s.Store.View(ctx, fn)
}

func (s *countingStore) Update(ctx context.Context, fn func(directory.Tx) error) error {
	s.updates.Add(1)
	return s.Store.Update(ctx, fn)
}

// TestInstrumentAndOnAudit: the store Instrument returns carries every
// transaction, and OnAudit sees each audit event, subject included, as it
// is recorded.
func TestInstrumentAndOnAudit(t *testing.T) {
	var wrapped *countingStore
	var mu sync.Mutex
	var seen []directory.AuditEvent
	d := newTestDir(t, nil, directory.Options{
		Instrument: func(s directory.Store) directory.Store { wrapped = &countingStore{Store: s}; return wrapped },
		OnAudit:    func(e directory.AuditEvent) { mu.Lock(); seen = append(seen, e); mu.Unlock() },
	})
	ctx := context.Background()
	_, err := d.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	must(t, d.SetPassword(ctx, "alice", "alice-password"))
	_, err = d.Authenticate(ctx, login("alice", "wrong", "192.0.2.1"))
	if err == nil {
		t.Fatal("a wrong password was accepted")
	}
	if wrapped == nil || wrapped.views.Load() == 0 || wrapped.updates.Load() == 0 {
		t.Fatalf("transactions bypassed the instrumented store: %+v", wrapped)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[0].Kind != "login" || seen[0].Result != directory.ResultBadPassword || seen[0].Subject != "alice" {
		t.Fatalf("OnAudit saw %+v", seen)
	}
}
