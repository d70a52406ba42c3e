package directory

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"slices"
	"sort"
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

// writeBuffer is one bucket's pending writes. Keys and values are copied
// into chunks of memory that hold no pointers, and the entries and the
// index refer to them by position: a buffer of a million writes then
// leaves the garbage collector next to nothing to scan, and costs no
// allocation per write. The entries sit in blocks, which a growing buffer
// adds without copying the ones before. Entries are in the order first
// written, or in key order when sorted is true.
type writeBuffer struct {
	chunks  [][]byte
	entries blocks[pending]
	// slots is an open-addressed hash index: in the slot of its key's hash
	// or a later one, the hash << 32 | entry number + 1, 0 for none. With
	// the hash beside it, a probe reads an entry only when the hashes
	// match. It is kept under half full; nil once the buffer is being
	// written out.
	slots  []uint64
	hash   func(string) uint64
	sorted bool
}

// pending is one write: key and value at positions in the chunks (chunk
// index << 32 | offset), vlen -1 for a delete, and h the key's hash (its
// low 32 bits), which spares most probes a look at the key.
type pending struct {
	k, v uint64
	klen uint32
	vlen int32
	h    uint32
}

var keySeed = maphash.MakeSeed()

func hashKey(key string) uint64 { return maphash.String(keySeed, key) }

// chunkSize is the size of the chunks; a longer value gets its own.
const chunkSize = 1 << 20

func newWriteBuffer() *writeBuffer {
	return &writeBuffer{slots: make([]uint64, 64), hash: hashKey, sorted: true}
}

// room returns the position of n free bytes at the end of the chunks.
func (b *writeBuffer) room(n int) uint64 {
	last := len(b.chunks) - 1
	if last < 0 || cap(b.chunks[last])-len(b.chunks[last]) < n {
		b.chunks = append(b.chunks, make([]byte, 0, max(chunkSize, n)))
		last++
	}
	pos := uint64(last)<<32 | uint64(len(b.chunks[last]))
	b.chunks[last] = b.chunks[last][:len(b.chunks[last])+n]
	return pos
}

func (b *writeBuffer) bytes(pos uint64, n int) []byte {
	off := int(uint32(pos))
	return b.chunks[pos>>32][off : off+n : off+n]
}

func (b *writeBuffer) entry(i int32) *pending { return b.entries.at(int(i)) }

// len is the number of entries.
func (b *writeBuffer) len() int32 { return int32(b.entries.n) }

func (b *writeBuffer) key(i int32) []byte {
	e := b.entry(i)
	return b.bytes(e.k, int(e.klen))
}

// value returns the value of entry i, and false for a delete.
func (b *writeBuffer) value(i int32) ([]byte, bool) {
	e := b.entry(i)
	if e.vlen < 0 {
		return nil, false
	}
	return b.bytes(e.v, int(e.vlen)), true
}

// find returns the entry of key, or -1.
func (b *writeBuffer) find(key string) int32 {
	h := uint32(b.hash(key))
	mask := uint32(len(b.slots) - 1)
	for s := h & mask; b.slots[s] != 0; s = (s + 1) & mask {
		if uint32(b.slots[s]>>32) != h {
			continue
		}
		if i := int32(uint32(b.slots[s])) - 1; string(b.key(i)) == key {
			return i
		}
	}
	return -1
}

// index puts entry i in the hash index.
func (b *writeBuffer) index(i int32) {
	b.place(uint64(b.entry(i).h)<<32 | uint64(i+1))
}

// place puts a slot's value in the first free slot from its hash on.
func (b *writeBuffer) place(v uint64) {
	mask := uint32(len(b.slots) - 1)
	s := uint32(v>>32) & mask
	for b.slots[s] != 0 {
		s = (s + 1) & mask
	}
	b.slots[s] = v
}

// grow doubles the hash index. The slots are moved in their order, so
// that they land nearly in order too: reading the entries' hashes and
// placing them at random was a third of the cost of buffering a write.
func (b *writeBuffer) grow() {
	old := b.slots
	b.slots = make([]uint64, 2*len(old))
	for _, v := range old {
		if v != 0 {
			b.place(v)
		}
	}
}

// reindex builds the hash index afresh, after the entries moved.
func (b *writeBuffer) reindex() {
	clear(b.slots)
	for i := range b.len() {
		b.index(i)
	}
}

func newSortedTx(tx Tx) *sortedTx {
	cp, _ := tx.(Checkpointer)
	return &sortedTx{tx: tx, buckets: map[string]*writeBuffer{}, cp: cp}
}

func (s *sortedTx) buffer(bucket string) *writeBuffer {
	b := s.buckets[bucket]
	if b == nil {
		b = newWriteBuffer()
		s.buckets[bucket] = b
	}
	return b
}

func (s *sortedTx) Get(bucket, key string) ([]byte, error) {
	if b := s.buckets[bucket]; b != nil {
		if i := b.find(key); i >= 0 {
			if v, ok := b.value(i); ok {
				return v, nil
			}
			return nil, ErrNotFound
		}
	}
	return s.tx.Get(bucket, key)
}

func (s *sortedTx) Put(bucket, key string, value []byte) error {
	s.buffer(bucket).set(key, value, false)
	return nil
}

func (s *sortedTx) Delete(bucket, key string) error {
	s.buffer(bucket).set(key, nil, true)
	return nil
}

func (b *writeBuffer) set(key string, value []byte, deleted bool) {
	v, vlen := uint64(0), int32(-1)
	if !deleted {
		v, vlen = b.room(len(value)), int32(len(value))
		copy(b.bytes(v, len(value)), value)
	}
	if i := b.find(key); i >= 0 {
		e := b.entry(i)
		e.v, e.vlen = v, vlen
		return
	}
	if n := b.len(); n > 0 && string(b.key(n-1)) >= key {
		b.sorted = false
	}
	k := b.room(len(key))
	copy(b.bytes(k, len(key)), key)
	*b.entries.next() = pending{k: k, v: v, klen: uint32(len(key)), vlen: vlen, h: uint32(b.hash(key))}
	if int(b.len())*2 >= len(b.slots) {
		b.grow()
	}
	b.index(b.len() - 1)
}

// sort puts the entries in key order, and indexes them again unless the
// index is gone (the buffer is being written out).
func (b *writeBuffer) sort() {
	// Most comparisons are settled by the first eight bytes of the keys,
	// kept next to each other rather than read from the chunks.
	type keyed struct {
		prefix uint64
		i      int32
	}
	order := make([]keyed, b.len())
	for i := range b.len() {
		var p [8]byte
		copy(p[:], b.key(i))
		order[i] = keyed{binary.BigEndian.Uint64(p[:]), i}
	}
	slices.SortFunc(order, func(x, y keyed) int {
		if c := cmp.Compare(x.prefix, y.prefix); c != 0 {
			return c
		}
		return bytes.Compare(b.key(x.i), b.key(y.i))
	})
	var sorted blocks[pending]
	for _, o := range order {
		*sorted.next() = *b.entry(o.i)
	}
	b.entries, b.sorted = sorted, true
	if b.slots != nil {
		b.reindex()
	}
}

// Scan merges the buffered keys of bucket into the store's, in order.
func (s *sortedTx) Scan(bucket, prefix, after string, fn func(string, []byte) error) error {
	b := s.buckets[bucket]
	if b == nil {
		return s.tx.Scan(bucket, prefix, after, fn)
	}
	if !b.sorted {
		b.sort()
	}
	n := b.len()
	i := int32(0)
	if start := max(prefix, after); start != "" {
		i = int32(sort.Search(int(n), func(j int) bool { return string(b.key(int32(j))) >= start }))
	}
	if i < n && string(b.key(i)) == after {
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
		for ; i < n && bytes.HasPrefix(b.key(i), []byte(prefix)) && (limit == "" || string(b.key(i)) < limit); i++ {
			if v, ok := b.value(i); ok {
				if err := call(string(b.key(i)), v); err != nil {
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
		if j := b.find(k); j >= 0 {
			i++
			var ok bool
			if v, ok = b.value(j); !ok {
				return nil
			}
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

// bytesPutter is a Tx that takes keys as bytes, which spares flush a
// string of each key it writes.
type bytesPutter interface {
	PutBytes(bucket string, key, value []byte) error
}

// checkpointBytes is how many bytes of keys and values flush hands a
// Checkpointer between checkpoints: enough for full pages and few commits,
// little against a whole import. bbolt splits a node only at commit, so
// the keys put since the last one sit in one node whose array grows with
// each: 1 MB of writes took 40% less time than 16 MB.
const checkpointBytes = 1 << 20

// flush writes the buffered changes to the store, each bucket in key order.
// When the Tx can checkpoint, flush does so every checkpointBytes, so that
// the transaction does not hold the whole batch at the end; each bucket's
// buffer goes once it is written. (Checkpoints during the batch would
// write keys such as UUIDs in many short runs, each rewriting most of the
// pages of their bucket.)
func (s *sortedTx) flush() error {
	names := make([]string, 0, len(s.buckets))
	for name := range s.buckets {
		names = append(names, name)
	}
	slices.Sort(names)
	buffers := make([]*writeBuffer, len(names))
	for i, name := range names {
		buffers[i] = s.buckets[name]
		buffers[i].slots = nil // no reads from here on: the indexes go before bbolt takes its share
	}
	clear(s.buckets) // the store holds the values now
	// The buckets are sorted on another core, each ahead of its write.
	sorted := make(chan struct{}, len(buffers))
	go func() {
		for _, b := range buffers {
			if !b.sorted {
				b.sort()
			}
			sorted <- struct{}{}
		}
	}()
	size := 0
	for i, b := range buffers {
		<-sorted
		buffers[i] = nil
		if a, ok := s.tx.(appender); ok {
			a.Appending(names[i])
		}
		if err := s.writeOut(names[i], b, &size); err != nil {
			for range len(buffers) - i - 1 {
				<-sorted // the sorting ends before the buffers are dropped
			}
			return err
		}
	}
	return nil
}

// writeOut writes a sorted buffer into the store, checkpointing each time
// size reaches checkpointBytes.
func (s *sortedTx) writeOut(bucket string, b *writeBuffer, size *int) error {
	bp, _ := s.tx.(bytesPutter)
	for i := range b.len() {
		key := b.key(i)
		v, ok := b.value(i)
		var err error
		switch {
		case !ok:
			err = s.tx.Delete(bucket, string(key))
		case bp != nil:
			err = bp.PutBytes(bucket, key, v)
		default:
			err = s.tx.Put(bucket, string(key), v)
		}
		if err != nil {
			return err
		}
		if *size += len(key) + len(v); s.cp == nil || *size < checkpointBytes {
			continue
		}
		if err := s.cp.Checkpoint(); err != nil {
			return err
		}
		*size = 0
	}
	return nil
}
