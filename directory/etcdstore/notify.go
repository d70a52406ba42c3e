package etcdstore

import (
	"strings"

	"github.com/atrium-dir/atrium/directory"
)

// Change names one record the mirror saw written or deleted, by this
// node or another.
type Change = directory.Change

var (
	_ directory.Syncer         = (*Store)(nil)
	_ directory.ChangeNotifier = (*Store)(nil)
)

// Notify registers fn to hear of every change the mirror applies, from any
// node: after each applied watch response with its revision and the
// records it changed, and after a full reload with nil changes, meaning
// anything may have changed. In-memory caches over the store drop entries
// here, so that a change made on one node drops them on every node.
//
// fn runs on the apply loop once the new snapshot is published, so a
// cache it empties cannot be refilled from an older snapshot. It must be
// quick and must not wait for the Store.
func (s *Store) Notify(fn func(rev int64, changes []Change)) {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	s.notify = append(s.notify, fn)
}

// NotifyChanges is Notify without the revision: directory.ChangeNotifier,
// through which a Directory drops its caches.
func (s *Store) NotifyChanges(fn func(changes []directory.Change)) {
	s.Notify(func(_ int64, changes []Change) { fn(changes) })
}

func (s *Store) notifyAll(rev int64, changes []Change) {
	s.notifyMu.Lock()
	fns := s.notify
	s.notifyMu.Unlock()
	for _, fn := range fns {
		fn(rev, changes)
	}
}

// change is the record etcd key k names, if it names one.
func (s *Store) change(k []byte) (Change, bool) {
	rest, ok := strings.CutPrefix(string(k), s.data)
	if !ok {
		return Change{}, false
	}
	bucket, key, _ := strings.Cut(rest, "\x00")
	return Change{Bucket: bucket, Key: key}, true
}
