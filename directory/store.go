package directory

import (
	"context"
	"errors"
	"io"
)

// Store is the storage engine under a Directory: named buckets of ordered
// keys, read and written in serializable transactions. It is deliberately
// narrow so that another engine (etcd, for example) can be added without
// touching the front ends; records, indexes and invariants live above it.
type Store interface {
	// View runs fn in a read-only transaction that sees one consistent snapshot.
	View(ctx context.Context, fn func(Tx) error) error
	// Update runs fn in a read-write transaction. If fn returns an error
	// nothing it wrote is kept. Update transactions are serializable.
	Update(ctx context.Context, fn func(Tx) error) error
	// Backup writes a consistent copy of the whole store to w while other
	// transactions go on.
	Backup(ctx context.Context, w io.Writer) (int64, error)
	Close() error
}

// BulkUpdater is a Store that can take one update too large to hold in a
// single transaction's memory (an import of a whole directory). BulkUpdate
// is Update, all or nothing, except that the Tx it hands fn may also be a
// Checkpointer.
type BulkUpdater interface {
	BulkUpdate(ctx context.Context, fn func(Tx) error) error
}

// Checkpointer is a Tx that can hand what was written so far to the store
// and free the memory it holds, without making it visible to anyone (the
// update is still all or nothing). Values read before a Checkpoint must
// not be used after it.
type Checkpointer interface {
	Checkpoint() error
}

// Tx is one transaction. Values passed to Scan callbacks and returned by Get
// are only valid until the transaction ends; copy them to keep them.
type Tx interface {
	// Get returns the value stored under key, or ErrNotFound.
	Get(bucket, key string) ([]byte, error)
	// Put stores value under key, creating the bucket if needed. It fails in
	// a read-only transaction.
	Put(bucket, key string, value []byte) error
	// Delete removes key; deleting a missing key is not an error.
	Delete(bucket, key string) error
	// Scan calls fn for every key that starts with prefix and sorts after
	// `after` (all of them when after is ""), in ascending byte order.
	// Returning ErrStop from fn ends the scan without error.
	Scan(bucket, prefix, after string, fn func(key string, value []byte) error) error
}

// Sentinel errors. Compare with errors.Is.
var (
	ErrNotFound      = errors.New("not found")
	ErrAlreadyExists = errors.New("already exists")
	ErrInvalid       = errors.New("invalid")
	ErrConflict      = errors.New("conflict")
	ErrReadOnly      = errors.New("read-only transaction")
	// ErrUnavailable means the store cannot take writes (or confirm that
	// its copy is current) right now, such as an etcd cluster without
	// quorum. Reads may still work; the caller should try again later.
	ErrUnavailable = errors.New("the database is unavailable")
	// ErrStop ends a Scan early; Scan returns nil.
	ErrStop = errors.New("stop scan")
)
