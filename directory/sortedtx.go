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
}

// writeBuffer is one bucket's pending writes. sorted lists its keys in
// order when clean is true; Put only appends to it.
type writeBuffer struct {
	values map[string]pending
	sorted []string
	clean  bool
}

type pending struct {
	value   []byte
	deleted bool
}

func newSortedTx(tx Tx) *sortedTx {
	return &sortedTx{tx: tx, buckets: map[string]*writeBuffer{}}
}

func (s *sortedTx) buffer(bucket string) *writeBuffer {
	b := s.buckets[bucket]
	if b == nil {
		b = &writeBuffer{values: map[string]pending{}, clean: true}
		s.buckets[bucket] = b
	}
	return b
}

func (s *sortedTx) Get(bucket, key string) ([]byte, error) {
	if b := s.buckets[bucket]; b != nil {
		if p, ok := b.values[key]; ok {
			if p.deleted {
				return nil, ErrNotFound
			}
			return p.value, nil
		}
	}
	return s.tx.Get(bucket, key)
}

func (s *sortedTx) Put(bucket, key string, value []byte) error {
	s.buffer(bucket).set(key, pending{value: value})
	return nil
}

func (s *sortedTx) Delete(bucket, key string) error {
	s.buffer(bucket).set(key, pending{deleted: true})
	return nil
}

func (b *writeBuffer) set(key string, p pending) {
	if _, ok := b.values[key]; !ok {
		if n := len(b.sorted); n > 0 && b.sorted[n-1] >= key {
			b.clean = false
		}
		b.sorted = append(b.sorted, key)
	}
	b.values[key] = p
}

// keys returns the buffered keys in order.
func (b *writeBuffer) keys() []string {
	if !b.clean {
		slices.Sort(b.sorted)
		b.clean = true
	}
	return b.sorted
}

// Scan merges the buffered keys of bucket into the store's, in order.
func (s *sortedTx) Scan(bucket, prefix, after string, fn func(string, []byte) error) error {
	b := s.buckets[bucket]
	if b == nil {
		return s.tx.Scan(bucket, prefix, after, fn)
	}
	keys := b.keys()
	start := max(prefix, after)
	i, _ := slices.BinarySearch(keys, start)
	if i < len(keys) && keys[i] == after {
		i++
	}
	stopped := false
	call := func(k string, v []byte) error {
		err := fn(k, v)
		stopped = err != nil
		return err
	}
	// emit passes on the buffered keys before limit ("" for all).
	emit := func(limit string) error {
		for ; i < len(keys) && strings.HasPrefix(keys[i], prefix) && (limit == "" || keys[i] < limit); i++ {
			if p := b.values[keys[i]]; !p.deleted {
				if err := call(keys[i], p.value); err != nil {
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
		if p, ok := b.values[k]; ok {
			i++
			if p.deleted {
				return nil
			}
			v = p.value
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

// flush writes the buffered changes to the store, each bucket in key order.
func (s *sortedTx) flush() error {
	names := make([]string, 0, len(s.buckets))
	for name := range s.buckets {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		b := s.buckets[name]
		delete(s.buckets, name) // the store holds the values now
		if a, ok := s.tx.(appender); ok {
			a.Appending(name)
		}
		for _, k := range b.keys() {
			p := b.values[k]
			var err error
			if p.deleted {
				err = s.tx.Delete(name, k)
			} else {
				err = s.tx.Put(name, k, p.value)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}
