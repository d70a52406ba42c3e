package directory

import (
	"errors"
	"slices"
	"strings"
)

// sortedTx holds the writes of a bulk batch in memory and hands them to the
// store in key order, bucket by bucket, when the batch ends. A B+tree such
// as bbolt splits nodes only at commit, so one transaction of 100,000 keys
// in random order (UUIDs) moves the keys of one ever-growing node on every
// insert; appended in order, each insert is a binary search and an append.
// Reads see the buffered writes.
type sortedTx struct {
	tx      Tx
	buckets map[string]*writeBuffer
	cp      Checkpointer // the Tx, when it can checkpoint
}

// writeBuffer is one bucket's pending writes: entries in the order first
// written, or in key order when sorted is true, and at[key] the index of
// each in entries.
type writeBuffer struct {
	at      map[string]int
	entries []pending
	sorted  bool
}

type pending struct {
	key     string
	value   []byte
	deleted bool
}

func newSortedTx(tx Tx) *sortedTx {
	cp, _ := tx.(Checkpointer)
	return &sortedTx{tx: tx, buckets: map[string]*writeBuffer{}, cp: cp}
}

func (s *sortedTx) buffer(bucket string) *writeBuffer {
	b := s.buckets[bucket]
	if b == nil {
		b = &writeBuffer{at: map[string]int{}, sorted: true}
		s.buckets[bucket] = b
	}
	return b
}

func (s *sortedTx) Get(bucket, key string) ([]byte, error) {
	if b := s.buckets[bucket]; b != nil {
		if i, ok := b.at[key]; ok {
			if b.entries[i].deleted {
				return nil, ErrNotFound
			}
			return b.entries[i].value, nil
		}
	}
	return s.tx.Get(bucket, key)
}

func (s *sortedTx) Put(bucket, key string, value []byte) error {
	s.buffer(bucket).set(pending{key: key, value: value})
	return nil
}

func (s *sortedTx) Delete(bucket, key string) error {
	s.buffer(bucket).set(pending{key: key, deleted: true})
	return nil
}

func (b *writeBuffer) set(p pending) {
	if i, ok := b.at[p.key]; ok {
		b.entries[i] = p
		return
	}
	if n := len(b.entries); n > 0 && b.entries[n-1].key >= p.key {
		b.sorted = false
	}
	b.at[p.key] = len(b.entries)
	b.entries = append(b.entries, p)
}

// inOrder returns the entries in key order.
func (b *writeBuffer) inOrder() []pending {
	if !b.sorted {
		b.sort()
		for i, e := range b.entries {
			b.at[e.key] = i
		}
	}
	return b.entries
}

func (b *writeBuffer) sort() {
	slices.SortFunc(b.entries, func(x, y pending) int { return strings.Compare(x.key, y.key) })
	b.sorted = true
}

// Scan merges the buffered keys of bucket into the store's, in order.
func (s *sortedTx) Scan(bucket, prefix, after string, fn func(string, []byte) error) error {
	b := s.buckets[bucket]
	if b == nil {
		return s.tx.Scan(bucket, prefix, after, fn)
	}
	entries := b.inOrder()
	start := max(prefix, after)
	i, _ := slices.BinarySearchFunc(entries, start, func(e pending, k string) int { return strings.Compare(e.key, k) })
	if i < len(entries) && entries[i].key == after {
		i++
	}
	stopped := false
	call := func(k string, v []byte) error {
		err := fn(k, v)
		stopped = err != nil
		return err
	}
	// emit passes on the buffered entries before limit ("" for all).
	emit := func(limit string) error {
		for ; i < len(entries) && strings.HasPrefix(entries[i].key, prefix) && (limit == "" || entries[i].key < limit); i++ {
			if e := entries[i]; !e.deleted {
				if err := call(e.key, e.value); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := s.tx.Scan(bucket, prefix, after, func(k string, v []byte) error {
		if err := emit(k); err != nil {
			return err
		}
		if j, ok := b.at[k]; ok {
			i++
			if entries[j].deleted {
				return nil
			}
			v = entries[j].value
		}
		return call(k, v)
	})
	if err != nil || stopped {
		return err
	}
	if err := emit(""); err != nil && !errors.Is(err, ErrStop) {
		return err
	}
	return nil
}

// appender is a Tx that can pack a bucket's pages full because the keys
// about to be put sort after each other (bbolt leaves pages half full by
// default, which suits keys in random order).
type appender interface {
	Appending(bucket string)
}

// checkpointBytes is how many bytes of keys and values flush hands a
// Checkpointer between checkpoints: enough for full pages and few commits,
// little against a whole import.
const checkpointBytes = 16 << 20

// flush writes the buffered changes to the store, each bucket in key order.
// When the Tx can checkpoint, flush does so every checkpointBytes and lets
// go of what it wrote, so that neither the transaction nor the buffer holds
// the whole batch at the end. (Checkpoints during the batch would write
// keys such as UUIDs in many short runs, each rewriting most of the pages
// of their bucket.)
func (s *sortedTx) flush() error {
	names := make([]string, 0, len(s.buckets))
	for name := range s.buckets {
		names = append(names, name)
	}
	slices.Sort(names)
	size := 0
	for _, name := range names {
		b := s.buckets[name]
		delete(s.buckets, name) // the store holds the values now
		if a, ok := s.tx.(appender); ok {
			a.Appending(name)
		}
		b.at = nil // no reads from here on: sorted, without the index
		if !b.sorted {
			b.sort()
		}
		entries := b.entries
		done := 0 // entries before done are in a checkpoint
		for i, e := range entries {
			if err := s.write(name, e); err != nil {
				return err
			}
			if size += len(e.key) + len(e.value); s.cp == nil || size < checkpointBytes {
				continue
			}
			if err := s.cp.Checkpoint(); err != nil {
				return err
			}
			clear(entries[done : i+1])
			done, size = i+1, 0
		}
	}
	return nil
}

func (s *sortedTx) write(bucket string, e pending) error {
	if e.deleted {
		return s.tx.Delete(bucket, e.key)
	}
	return s.tx.Put(bucket, e.key, e.value)
}
