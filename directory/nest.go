package directory

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
)

// ErrNestedTransaction is what a Directory method returns when it is called
// inside View with the context View handed to its function.
var ErrNestedTransaction = errors.New("a transaction was opened inside View: read through View's Reader instead")

// inViewKey marks the context that View hands to its function.
type inViewKey struct{}

// nestGuard is the Store under every Directory method: it refuses to open
// a transaction with a context that View marked. In bbolt a read inside a
// read deadlocks as soon as a writer waits to grow the file between the
// two (the writer waits for the first read, the second read queues behind
// the writer), and a write inside a read always deadlocks.
//
// It also counts the writes it lets through (see Memo).
type nestGuard struct {
	Store
	writes *atomic.Uint64
}

func refuseNested(ctx context.Context) error {
	if ctx.Value(inViewKey{}) != nil {
		return ErrNestedTransaction
	}
	return nil
}

func (g nestGuard) View(ctx context.Context, fn func(Tx) error) error {
	if err := refuseNested(ctx); err != nil {
		return err
	}
	return g.Store.View(ctx, fn)
}

func (g nestGuard) Update(ctx context.Context, fn func(Tx) error) error {
	if err := refuseNested(ctx); err != nil {
		return err
	}
	defer g.writes.Add(1)
	return g.Store.Update(ctx, fn)
}

// bulkUpdate is BulkUpdate when the store has it, and Update otherwise.
func (g nestGuard) bulkUpdate(ctx context.Context, fn func(Tx) error) error {
	if err := refuseNested(ctx); err != nil {
		return err
	}
	defer g.writes.Add(1)
	if b, ok := g.Store.(BulkUpdater); ok {
		return b.BulkUpdate(ctx, fn)
	}
	return g.Store.Update(ctx, fn)
}

func (g nestGuard) Backup(ctx context.Context, w io.Writer) (int64, error) {
	if err := refuseNested(ctx); err != nil {
		return 0, err
	}
	return g.Store.Backup(ctx, w)
}

// flushAudit writes the queued audit events. It is refused inside View as
// a transaction is: the write would wait for View's own read.
func (d *Directory) flushAudit(ctx context.Context) error {
	if err := refuseNested(ctx); err != nil {
		return err
	}
	return d.audit.flush()
}
