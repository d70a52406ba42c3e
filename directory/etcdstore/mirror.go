package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tidwall/btree"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// loadPage is how many keys one range read of the initial load returns.
const loadPage = 1000

// snapshot is one published revision of the mirror. It is never changed;
// next is closed when a newer snapshot replaces it.
type snapshot struct {
	tree      *btree.Map[string, []byte] // bucket\x00key -> value
	rev       int64                      // etcd revision the mirror has applied
	commitRev int64                      // ModRevision of the commit key at rev (0: none)
	next      chan struct{}
}

// mirror is the mutable side, changed only by the watch goroutine.
type mirror struct {
	tree      *btree.Map[string, []byte]
	rev       int64
	commitRev int64
}

// load reads the whole keyspace at one revision, page by page.
func (s *Store) load(ctx context.Context) (*mirror, error) {
	m := &mirror{tree: btree.NewMap[string, []byte](32)}
	end := clientv3.GetPrefixRangeEnd(s.root)
	key := s.root
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(loadPage)}
		if m.rev != 0 {
			opts = append(opts, clientv3.WithRev(m.rev))
		}
		resp, err := s.kv.Get(ctx, key, opts...)
		if err != nil {
			return nil, err
		}
		if m.rev == 0 {
			m.rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			s.applyKV(m, mvccpb.PUT, kv)
		}
		if !resp.More || len(resp.Kvs) == 0 {
			s.history.reset(m.commitRev)
			return m, nil
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

func (s *Store) applyKV(m *mirror, typ mvccpb.Event_EventType, kv *mvccpb.KeyValue) {
	k := string(kv.Key)
	switch {
	case k == s.commitKey && typ == mvccpb.PUT:
		m.commitRev = kv.ModRevision
	case k == s.commitKey:
		m.commitRev = 0
	case !strings.HasPrefix(k, s.data):
	case typ == mvccpb.PUT:
		v := kv.Value
		if v == nil {
			v = []byte{}
		}
		m.tree.Set(k[len(s.data):], v)
	default:
		m.tree.Delete(k[len(s.data):])
	}
}

// publish makes the mirror's present state the snapshot readers see.
func (s *Store) publish(m *mirror) {
	sn := &snapshot{tree: m.tree.Copy(), rev: m.rev, commitRev: m.commitRev, next: make(chan struct{})}
	if old := s.snap.Swap(sn); old != nil {
		close(old.next)
	}
}

// waitFor returns once the mirror has applied revision rev.
func (s *Store) waitFor(ctx context.Context, rev int64) error {
	for {
		sn := s.snap.Load()
		if sn.rev >= rev {
			return nil
		}
		select {
		case <-sn.next:
		case <-ctx.Done():
			return fmt.Errorf("etcd: waiting for the local mirror to reach revision %d (at %d): %w", rev, sn.rev, ctx.Err())
		case <-s.closed:
			return ErrClosed
		}
	}
}

func (s *Store) startWatch() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	s.stopWatch, s.watchDone = cancel, make(chan struct{})
	go s.follow(ctx, s.watchDone)
}

// pauseWatch stops the watch goroutine and waits for it to end.
func (s *Store) pauseWatch() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if s.stopWatch != nil {
		s.stopWatch()
		<-s.watchDone
		s.stopWatch = nil
	}
}

// follow keeps the mirror current until ctx ends: it watches from the
// mirror's next revision, re-watches after a broken stream and reloads
// the whole keyspace when the revisions it needs were compacted.
func (s *Store) follow(ctx context.Context, done chan struct{}) {
	defer close(done)
	backoff := 50 * time.Millisecond
	warnedAt := int64(-1) // one warning per stall, not one per retry
	for ctx.Err() == nil {
		err := s.watch(ctx)
		if ctx.Err() != nil {
			return
		}
		if isNoLeader(err) {
			s.leaveLeaderless()
		}
		if errors.Is(err, rpctypes.ErrCompacted) {
			s.log.Warn("etcd watch compacted past the mirror; reloading the keyspace", "rev", s.mirror.rev)
			err = s.reload(ctx)
		}
		if err == nil {
			backoff = 50 * time.Millisecond
			continue
		}
		if s.mirror.rev != warnedAt {
			s.log.Warn("etcd watch interrupted; the mirror falls behind until it resumes", "rev", s.mirror.rev, "err", err)
			warnedAt = s.mirror.rev
		} else {
			s.log.Debug("etcd watch still interrupted", "rev", s.mirror.rev, "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (s *Store) reload(ctx context.Context) error {
	m, err := s.load(ctx)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	s.mirror = m
	s.reloads.Add(1)
	s.publish(m)
	s.notifyAll(m.rev, nil)
	return nil
}

// watch applies watch responses until the stream ends, and says why.
func (s *Store) watch(ctx context.Context) error {
	wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
	defer cancel()
	m := s.mirror
	ch := s.cli.Watch(wctx, s.root, clientv3.WithPrefix(), clientv3.WithRev(m.rev+1))
	for resp := range ch {
		if resp.CompactRevision != 0 {
			return rpctypes.ErrCompacted
		}
		if err := resp.Err(); err != nil {
			return err
		}
		var changes []Change
		for _, ev := range resp.Events {
			s.applyKV(m, ev.Type, ev.Kv)
			if c, ok := s.change(ev.Kv.Key); ok {
				changes = append(changes, c)
			}
			if ev.Type == mvccpb.PUT && string(ev.Kv.Key) == s.commitKey {
				s.history.add(string(ev.Kv.Value), ev.Kv.ModRevision)
			}
			m.rev = max(m.rev, ev.Kv.ModRevision)
		}
		if len(resp.Events) > 0 {
			s.publish(m)
		}
		if len(changes) > 0 {
			s.notifyAll(m.rev, changes)
		}
	}
	return errors.New("watch stream closed")
}
