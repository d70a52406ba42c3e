package etcdstore

import "sync"

// historySize is how many recent commits the mirror remembers.
const historySize = 4096

// history remembers the transaction IDs the mirror saw committed, so an
// Update whose reply was lost can learn whether it took effect.
type history struct {
	mu    sync.Mutex
	revs  map[string]int64
	order []string
	floor int64 // commits at or below this revision may be missing
}

// reset forgets everything: a (re)load sees no commits before floor.
func (h *history) reset(floor int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.revs, h.order, h.floor = map[string]int64{}, nil, floor
}

func (h *history) add(id string, rev int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.revs[id] = rev
	h.order = append(h.order, id)
	if len(h.order) > historySize {
		h.floor = h.revs[h.order[0]]
		delete(h.revs, h.order[0])
		h.order = h.order[1:]
	}
}

// find returns the revision at which id committed, or 0 if it did not.
// known is false when commits after since may be missing from the history.
func (h *history) find(id string, since int64) (rev int64, known bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rev, ok := h.revs[id]; ok {
		return rev, true
	}
	return 0, since >= h.floor
}
