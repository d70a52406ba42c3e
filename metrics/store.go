package metrics

import (
	"context"
	"os"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// Store wraps s so that every transaction's latency is observed; pass it
// as directory.Options.Instrument. Transactions pass through unchanged.
func (m *Metrics) Store(s directory.Store) directory.Store {
	if m == nil {
		return s
	}
	if l, ok := s.(MirrorLagger); ok {
		m.gaugeFunc("atrium_store_mirror_lag_seconds", "How far this node's copy of the etcd store trails the cluster.", nil,
			func() (float64, bool) { return l.MirrorLag().Seconds(), true })
	}
	return &timedStore{Store: s, m: m}
}

// MirrorLagger is a store that follows a cluster (etcd) and can tell how
// far behind its local copy is.
type MirrorLagger interface {
	MirrorLag() time.Duration
}

type timedStore struct {
	directory.Store
	m *Metrics
}

func (s *timedStore) View(ctx context.Context, fn func(directory.Tx) error) error {
	defer s.m.observeTx("view", s.m.now())
	return s.Store.View(ctx, fn)
}

func (s *timedStore) Update(ctx context.Context, fn func(directory.Tx) error) error {
	defer s.m.observeTx("update", s.m.now())
	return s.Store.Update(ctx, fn)
}

func (m *Metrics) observeTx(kind string, start time.Time) {
	m.storeLatency.WithLabelValues(kind).Observe(m.now().Sub(start).Seconds())
}

// StoreFile exports the size of the store's file, read at each scrape; a
// store that is not a file (etcd) has none.
func (m *Metrics) StoreFile(path string) {
	if m == nil {
		return
	}
	m.gaugeFunc("atrium_store_size_bytes", "Size of the store's database file.", nil, func() (float64, bool) {
		fi, err := os.Stat(path)
		if err != nil {
			return 0, false
		}
		return float64(fi.Size()), true
	})
}

// Directory sets the hooks of opt through which the directory reports to
// m: its store is timed and its audit events counted.
func (m *Metrics) Directory(opt *directory.Options) {
	if m == nil {
		return
	}
	opt.Instrument, opt.OnAudit = m.Store, m.Audit
}
