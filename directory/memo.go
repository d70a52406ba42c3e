package directory

import "sync"

// memoMax bounds a Memo's entries; past it the Memo starts over.
const memoMax = 4096

// Memo remembers values read from the store, each for as long as nothing
// has been written since its read began. Every transaction that may write
// through the Directory counts (the audit log's too), so a remembered
// value is always what a read now would find; a front end may skip the
// read when Get has it. On a shared store other nodes write without this
// node counting, so there a Memo remembers nothing.
type Memo[K comparable, V any] struct {
	d  *Directory
	mu sync.Mutex
	m  map[K]memoEntry[V]
}

type memoEntry[V any] struct {
	mark uint64
	v    V
}

// NewMemo returns an empty Memo over d's writes.
func NewMemo[K comparable, V any](d *Directory) *Memo[K, V] {
	return &Memo[K, V]{d: d, m: map[K]memoEntry[V]{}}
}

// Mark is taken before a read whose result goes to Put.
func (m *Memo[K, V]) Mark() uint64 { return m.d.writes.Load() }

// Put remembers v, read for key by a read that began at mark.
func (m *Memo[K, V]) Put(mark uint64, key K, v V) {
	if m.d.Shared() || mark != m.d.writes.Load() {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.m) >= memoMax {
		clear(m.m)
	}
	m.m[key] = memoEntry[V]{mark, v}
}

// Get returns the value remembered for key if nothing has been written
// since its read began.
func (m *Memo[K, V]) Get(key K) (V, bool) {
	m.mu.Lock()
	e, ok := m.m[key]
	m.mu.Unlock()
	if !ok || e.mark != m.d.writes.Load() {
		var zero V
		return zero, false
	}
	return e.v, true
}
