package directory

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"
)

// kindBackoff is the state kind under which the nodes of a shared store
// tell each other of login failures: one record per event, kept for the
// backoff window, then swept with the other expired state.
const kindBackoff = "backoff"

// backoffEvent is one failure, or a success (which clears failures and
// brings trust).
type backoffEvent struct {
	Addr    string `json:"a,omitempty"`
	Account string `json:"s"`
	NoAddr  bool   `json:"n,omitempty"` // reported without an address (Samba)
	OK      bool   `json:"ok,omitempty"`
}

// sharedBackoff makes failures made on every node of a shared store count
// together: it writes this node's backoff events to the store in batches,
// off the login path, and applies other nodes' events as the store's
// change feed brings them. A success is shared only when it cleared
// failures or is the first from its address in trustShareEvery, so
// devices that bind all day write about once an hour.
type sharedBackoff struct {
	d       *Directory
	prefix  string // stateKey prefix of this node's records
	events  chan backoffEvent
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once
	seq     uint64
}

func newSharedBackoff(d *Directory) *sharedBackoff {
	var id [8]byte
	rand.Read(id[:])
	s := &sharedBackoff{d: d, prefix: kindBackoff + "/" + hex.EncodeToString(id[:]) + "/",
		events: make(chan backoffEvent, 4096), done: make(chan struct{}), stopped: make(chan struct{})}
	go s.run()
	return s
}

// add queues ev for the other nodes; under a flood beyond the queue the
// surplus stays local.
func (s *sharedBackoff) add(ev backoffEvent) {
	select {
	case s.events <- ev:
	default:
	}
}

func (s *sharedBackoff) run() {
	defer close(s.stopped)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var batch []backoffEvent
	for {
		select {
		case ev := <-s.events:
			batch = append(batch, ev)
		case <-tick.C:
			s.write(batch)
			batch = batch[:0]
		case <-s.done:
			s.write(batch)
			return
		}
	}
}

// write stores batch as state records, within the store's write bound.
func (s *sharedBackoff) write(batch []backoffEvent) {
	if len(batch) == 0 {
		return
	}
	// Named and encoded before the Update, whose fn may run again.
	expires := s.d.now().Add(s.d.backoff.cfg.Window).UTC()
	type record struct {
		key string
		rec stateRecord
	}
	recs := make([]record, 0, len(batch))
	for _, ev := range batch {
		raw, _ := json.Marshal(ev)
		s.seq++
		recs = append(recs, record{fmt.Sprintf("%s%d", s.prefix, s.seq), stateRecord{Expires: expires, Value: raw}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := inChunks(recs, s.d.writeLimit, func(chunk []record) error {
		return s.d.store.Update(ctx, func(tx Tx) error {
			for _, r := range chunk {
				if err := putJSON(tx, bState, r.key, r.rec); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		s.d.log.Warn("backoff: could not tell the other nodes of login failures", "events", len(batch), "err", err)
	}
}

// received applies the events other nodes wrote among changes.
func (s *sharedBackoff) received(changes []Change) {
	var keys []string
	for _, c := range changes {
		if c.Bucket == bState && strings.HasPrefix(c.Key, kindBackoff+"/") && !strings.HasPrefix(c.Key, s.prefix) {
			keys = append(keys, c.Key)
		}
	}
	if len(keys) == 0 {
		return
	}
	var evs []backoffEvent
	_ = s.d.store.View(context.Background(), func(tx Tx) error {
		for _, k := range keys {
			var rec stateRecord
			var ev backoffEvent
			if getJSON(tx, bState, k, &rec) == nil && json.Unmarshal(rec.Value, &ev) == nil {
				evs = append(evs, ev)
			}
		}
		return nil
	})
	for _, ev := range evs {
		s.d.backoff.apply(ev)
	}
}

// close writes what is queued and stops.
func (s *sharedBackoff) close() {
	s.once.Do(func() {
		close(s.done)
		<-s.stopped
	})
}
