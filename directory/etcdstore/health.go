package etcdstore

import (
	"context"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Health is the state of a node's link to the cluster.
type Health struct {
	// MirrorRevision is the etcd revision the local mirror holds.
	MirrorRevision int64
	// CommitRevision is the revision of the newest commit, read from a
	// quorum; 0 when the cluster could not answer.
	CommitRevision int64
	// Lag is how many revisions the mirror is behind that commit.
	Lag int64
	// Reloads counts full reloads after compaction.
	Reloads int64
	// Err says why the cluster could not answer a linearizable read
	// (unreachable, no leader); nil when it did.
	Err error
}

// Health makes one linearizable read, bounded by ctx and RequestTimeout,
// and compares the newest commit with the mirror.
func (s *Store) Health(ctx context.Context) Health {
	h := Health{MirrorRevision: s.snap.Load().rev, Reloads: s.reloads.Load()}
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	resp, err := s.kv.Get(clientv3.WithRequireLeader(ctx), s.commitKey)
	if err != nil {
		h.Err = fmt.Errorf("etcd: read commit revision: %w", unavailable(err))
		return h
	}
	if len(resp.Kvs) > 0 {
		h.CommitRevision = resp.Kvs[0].ModRevision
	}
	h.Lag = max(0, h.CommitRevision-h.MirrorRevision)
	return h
}
