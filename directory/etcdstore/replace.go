package etcdstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/atrium-dir/atrium/directory"
)

// The marker a Replace keeps in the keyspace until it has finished, so
// that no node opens a half-copied directory.
const (
	markerBucket = "meta"
	markerKey    = "replacing"
)

// ErrIncomplete means a Replace (a migration or a restore into the
// cluster) was stopped before it finished; run it again.
var ErrIncomplete = errors.New("a copy into this etcd keyspace has not finished")

// Incomplete reports whether a Replace was stopped before it finished, so
// that the keyspace is a mix of old and new records.
func (s *Store) Incomplete() bool {
	_, ok := s.snap.Load().tree.Get(markerBucket + "\x00" + markerKey)
	return ok
}

// Source yields every record of a store, as boltstore.Store.Each does.
type Source func(fn func(bucket, key string, value []byte) error) error

// Replace makes the keyspace hold exactly the records src yields. It
// writes in chunks of transactions under etcd's limits, since a directory
// is far larger than one transaction; a marker record is kept meanwhile
// (see Incomplete). Each chunk puts records as they are in src, so a
// Replace stopped at any point and run again ends with the same keyspace:
// records already there are not rewritten, and those src lacks are deleted
// last. progress, if set, hears the records done so far.
func (s *Store) Replace(ctx context.Context, src Source, progress func(records int)) error {
	if err := s.Update(ctx, func(tx directory.Tx) error { return tx.Put(markerBucket, markerKey, []byte("1")) }); err != nil {
		return fmt.Errorf("replace: mark the keyspace: %w", err)
	}
	seen := map[string]bool{}
	c := &chunker{s: s, ctx: ctx, progress: progress}
	err := src(func(bucket, key string, value []byte) error {
		if bucket == markerBucket && key == markerKey {
			return nil
		}
		seen[bucket+"\x00"+key] = true
		return c.add(bucket, key, value, false)
	})
	if err == nil {
		err = c.flush()
	}
	if err == nil {
		err = s.deleteUnseen(c, seen)
	}
	if err != nil {
		return fmt.Errorf("replace after %d records: %w", c.done, err)
	}
	return s.Update(ctx, func(tx directory.Tx) error { return tx.Delete(markerBucket, markerKey) })
}

// deleteUnseen deletes the records src did not yield.
func (s *Store) deleteUnseen(c *chunker, seen map[string]bool) error {
	var stale []string
	s.snap.Load().tree.Scan(func(k string, _ []byte) bool {
		if !seen[k] && k != markerBucket+"\x00"+markerKey {
			stale = append(stale, k)
		}
		return true
	})
	for _, k := range stale {
		bucket, key, _ := strings.Cut(k, "\x00")
		if err := c.add(bucket, key, nil, true); err != nil {
			return err
		}
	}
	return c.flush()
}

// chunker gathers writes into Updates that each fit one etcd transaction.
type chunker struct {
	s        *Store
	ctx      context.Context
	progress func(int)
	writes   []chunkWrite
	bytes    int
	done     int
}

type chunkWrite struct {
	bucket, key string
	value       []byte
	del         bool
}

func (c *chunker) add(bucket, key string, value []byte, del bool) error {
	size := len(c.s.data) + len(bucket) + len(key) + len(value) + 32
	if len(c.writes) > 0 && (len(c.writes)+2 > c.s.opts.MaxTxnOps || c.bytes+size > c.s.opts.MaxRequestBytes/2) {
		if err := c.flush(); err != nil {
			return err
		}
	}
	c.writes = append(c.writes, chunkWrite{bucket, key, bytes.Clone(value), del})
	c.bytes += size
	return nil
}

// flush commits the gathered writes as one Update.
func (c *chunker) flush() error {
	if len(c.writes) == 0 {
		return nil
	}
	err := c.s.Update(c.ctx, func(tx directory.Tx) error {
		for _, w := range c.writes {
			var err error
			if w.del {
				err = tx.Delete(w.bucket, w.key)
			} else {
				err = tx.Put(w.bucket, w.key, w.value)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	c.done += len(c.writes)
	c.writes, c.bytes = c.writes[:0], 0
	if c.progress != nil {
		c.progress(c.done)
	}
	return nil
}
