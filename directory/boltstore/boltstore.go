package boltstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/atrium-dir/atrium/directory"
)

// ErrLocked means another process holds the database file.
var ErrLocked = errors.New("database file is in use by another process")

var _ directory.Store = (*Store)(nil)

// Store is a directory.Store on one bbolt file.
type Store struct {
	// mu guards db, which a BulkUpdate replaces: transactions hold it for
	// reading, BulkUpdate for writing.
	mu   sync.RWMutex
	db   *bolt.DB
	path string
	sole atomic.Bool // see Sole
}

// Open opens or creates the file at path. If another process holds it, Open
// gives up after lockWait and returns an error wrapping ErrLocked.
func Open(path string, lockWait time.Duration) (*Store, error) {
	if lockWait <= 0 {
		lockWait = 100 * time.Millisecond
	}
	db, err := openFile(path, lockWait, false)
	if err != nil {
		return nil, err
	}
	return &Store{db: db, path: path}, nil
}

// openFile opens the bbolt file at path. The file at path may be replaced
// by a BulkUpdate while Open waits for the lock, leaving Open the lock of
// a file no longer in the directory; then it opens the new one.
func openFile(path string, lockWait time.Duration, noSync bool) (*bolt.DB, error) {
	for {
		before, statErr := os.Stat(path)
		// A mapping larger than the file (address space only) spares a large
		// commit, an import say, from remapping the file as it grows: each
		// remap copies every key and value the transaction holds.
		db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockWait, NoSync: noSync, FreelistType: bolt.FreelistMapType, InitialMmapSize: 1 << 30})
		if err != nil {
			if errors.Is(err, bolt.ErrTimeout) {
				return nil, fmt.Errorf("open %s: %w", path, ErrLocked)
			}
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		after, err := os.Stat(path)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		// The lock is on the file path named before and after it was taken
		// (a replacement is always a new file).
		if statErr != nil || os.SameFile(before, after) {
			return db, nil
		}
		db.Close()
	}
}

// Path is the file the store lives in.
func (s *Store) Path() string { return s.path }

func (s *Store) View(ctx context.Context, fn func(directory.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.View(func(btx *bolt.Tx) error { return fn(&tx{b: btx}) })
}

func (s *Store) Update(ctx context.Context, fn func(directory.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.Update(func(btx *bolt.Tx) error { return fn(&tx{b: btx}) })
}

func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := s.View(ctx, func(t directory.Tx) error {
		var err error
		n, err = t.(*tx).b.WriteTo(w)
		return err
	})
	return n, err
}

func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.db.Close()
}

// CopyFile writes a consistent copy of the store to path (mode 0600).
func (s *Store) CopyFile(ctx context.Context, path string) error {
	return s.View(ctx, func(t directory.Tx) error {
		return t.(*tx).b.CopyFile(path, 0o600)
	})
}

type tx struct {
	b *bolt.Tx
	// open are the buckets a read-only transaction has opened, each with a
	// cursor to reuse: bbolt opens a bucket anew on every Tx.Bucket of a
	// read-only transaction, and a new cursor allocates its path down the
	// tree: a sixth of what an LDAP membership search allocated.
	// Writable transactions keep their buckets in bbolt and use none.
	open []openBucket
}

type openBucket struct {
	name   string
	b      *bolt.Bucket // nil when there is no such bucket
	cursor *bolt.Cursor // nil while a Get or Scan holds it
}

// bucket opens bucket name (nil when there is none) and, in a read-only
// transaction, returns the cache entry that keeps it.
func (t *tx) bucket(name string) (*bolt.Bucket, *openBucket) {
	if t.b.Writable() {
		return t.b.Bucket([]byte(name)), nil
	}
	for i := range t.open {
		if t.open[i].name == name {
			return t.open[i].b, &t.open[i]
		}
	}
	b := t.b.Bucket([]byte(name))
	if t.open == nil {
		t.open = make([]openBucket, 0, 8)
	}
	t.open = append(t.open, openBucket{name: name, b: b})
	return b, &t.open[len(t.open)-1]
}

// cursor takes the bucket's cached cursor, or makes one when it is taken
// (a Scan whose callback reads the same bucket) or there is no cache; it
// is nil when there is no such bucket. giveBack returns it.
func (t *tx) cursor(name string) *bolt.Cursor {
	b, ob := t.bucket(name)
	switch {
	case b == nil:
		return nil
	case ob == nil || ob.cursor == nil:
		return b.Cursor()
	}
	c := ob.cursor
	ob.cursor = nil
	return c
}

func (t *tx) giveBack(name string, c *bolt.Cursor) {
	for i := range t.open {
		if t.open[i].name == name && t.open[i].cursor == nil {
			t.open[i].cursor = c
			return
		}
	}
}

func (t *tx) Get(bucket, key string) ([]byte, error) {
	c := t.cursor(bucket)
	if c == nil {
		return nil, directory.ErrNotFound
	}
	// Seek gives what Bucket.Get gives for the key, nil for a bucket.
	k, v := c.Seek([]byte(key))
	t.giveBack(bucket, c)
	if v == nil || string(k) != key {
		return nil, directory.ErrNotFound
	}
	return v, nil
}

func (t *tx) Put(bucket, key string, value []byte) error {
	if !t.b.Writable() {
		return directory.ErrReadOnly
	}
	b, err := t.b.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return fmt.Errorf("bucket %s: %w", bucket, err)
	}
	if value == nil {
		value = []byte{}
	}
	return b.Put([]byte(key), value)
}

// PutBytes is Put with the key as bytes (bbolt copies it): a bulk write
// passes the keys it buffered without a string of each.
func (t *tx) PutBytes(bucket string, key, value []byte) error {
	if !t.b.Writable() {
		return directory.ErrReadOnly
	}
	b, err := t.b.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return fmt.Errorf("bucket %s: %w", bucket, err)
	}
	if value == nil {
		value = []byte{}
	}
	return b.Put(key, value)
}

// Appending packs the pages of bucket full for the rest of the
// transaction: the caller puts its keys in order.
func (t *tx) Appending(bucket string) {
	if b, err := t.b.CreateBucketIfNotExists([]byte(bucket)); err == nil {
		b.FillPercent = 0.95
	}
}

func (t *tx) Delete(bucket, key string) error {
	if !t.b.Writable() {
		return directory.ErrReadOnly
	}
	b := t.b.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return b.Delete([]byte(key))
}

func (t *tx) Scan(bucket, prefix, after string, fn func(string, []byte) error) error {
	c := t.cursor(bucket)
	if c == nil {
		return nil
	}
	defer t.giveBack(bucket, c)
	p := []byte(prefix)
	var k, v []byte
	if after != "" && after >= prefix {
		k, v = c.Seek([]byte(after))
		if k != nil && string(k) == after {
			k, v = c.Next()
		}
	} else {
		k, v = c.Seek(p)
	}
	for ; k != nil && bytes.HasPrefix(k, p); k, v = c.Next() {
		if err := fn(string(k), v); err != nil {
			if errors.Is(err, directory.ErrStop) {
				return nil
			}
			return err
		}
	}
	return nil
}

// Check walks the whole file and reports the first inconsistency found.
// Every key is read first, in this goroutine, where a damaged page that
// makes bbolt read outside the file is caught as an error; only then does
// bbolt's own check (which runs in a goroutine of its own) look at the
// page structure.
func (s *Store) Check() (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("damaged page: %v", p)
		}
	}()
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.db.View(func(btx *bolt.Tx) error {
		if err := btx.ForEach(func(name []byte, b *bolt.Bucket) error { return readAll(b) }); err != nil {
			return fmt.Errorf("read every key: %w", err)
		}
		for err := range btx.Check() {
			return fmt.Errorf("bbolt check: %w", err)
		}
		return nil
	})
}

func readAll(b *bolt.Bucket) error {
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			return readAll(b.Bucket(k))
		}
		return nil
	})
}
