package etcdstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tidwall/btree"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/atrium-dir/atrium/directory"
)

// Update runs fn on the newest snapshot and commits what it wrote as one
// etcd transaction guarded by the commit key's revision. If another
// commit came first, fn runs again on a snapshot that includes it. See the
// package doc for what fn must not do.
func (s *Store) Update(ctx context.Context, fn func(directory.Tx) error) error {
	if err := s.usable(ctx); err != nil {
		return err
	}
	select {
	case s.writer <- struct{}{}:
		defer func() { <-s.writer }()
	case <-ctx.Done():
		return ctx.Err()
	case <-s.closed:
		return ErrClosed
	}
	giveUp := time.Now().Add(s.opts.ConflictTimeout)
	for attempts := 1; ; attempts++ {
		done, err := s.attempt(ctx, fn)
		if done || err != nil {
			return err
		}
		if attempts >= s.opts.MaxAttempts && time.Now().After(giveUp) {
			return fmt.Errorf("etcd: %d attempts over %s lost to other nodes' commits: %w", attempts, s.opts.ConflictTimeout, directory.ErrConflict)
		}
	}
}

// attempt runs fn once and tries to commit it. done is false when fn must
// run again, on a mirror that has caught up with another node's commit.
func (s *Store) attempt(ctx context.Context, fn func(directory.Tx) error) (done bool, err error) {
	sn := s.snap.Load()
	t := &tx{snap: sn, overlay: btree.NewMap[string, write](32)}
	if err := fn(t); err != nil {
		if s.behind(ctx, sn) {
			return false, nil
		}
		return true, err
	}
	ops, err := s.ops(t)
	if err != nil {
		return true, err
	}
	if len(ops) == 0 {
		return !s.behind(ctx, sn), nil
	}
	return s.commit(ctx, sn, ops)
}

// behind reports whether another node committed after sn, and if so waits
// until the mirror holds that commit. An Update that refused or wrote
// nothing did not pass the commit guard, so this is what keeps it from
// answering from a stale mirror (a "not found" for a user another node
// just made). If etcd cannot be asked, fn's answer stands.
func (s *Store) behind(ctx context.Context, sn *snapshot) bool {
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	resp, err := s.kv.Get(clientv3.WithRequireLeader(ctx), s.commitKey)
	if err != nil || len(resp.Kvs) == 0 || resp.Kvs[0].ModRevision == sn.commitRev {
		return false
	}
	return s.waitFor(ctx, resp.Kvs[0].ModRevision) == nil
}

// commit sends ops as one transaction that applies only if no commit
// came after sn. done is false when another commit came first.
func (s *Store) commit(ctx context.Context, sn *snapshot, ops []clientv3.Op) (done bool, err error) {
	id := newTxnID()
	tctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	resp, err := s.guarded(tctx, sn, append(ops, clientv3.OpPut(s.commitKey, id)))
	switch {
	case errors.Is(err, rpctypes.ErrTooManyOps) || errors.Is(err, rpctypes.ErrRequestTooLarge):
		return true, fmt.Errorf("etcd: %w: %w", ErrTxnTooLarge, err)
	case isNoLeader(err): // refused unproposed: no outcome to settle
		return true, fmt.Errorf("etcd: %w", unavailable(err))
	case err != nil:
		return s.settle(ctx, sn, id, err)
	case resp.Succeeded:
		if err := s.waitFor(tctx, resp.Header.Revision); err != nil {
			return true, fmt.Errorf("etcd: committed, but %w", unavailable(err))
		}
		return true, nil
	}
	return false, s.waitFor(tctx, commitRevision(resp))
}

// settle finds out whether transaction id, whose reply was lost, took
// effect, so that it is never applied twice. A fence (a put of the commit
// key under the same guard) either lands, and then id can never apply
// later, or fails because a commit came after sn; the mirror's history
// then says whether that commit was id.
func (s *Store) settle(ctx context.Context, sn *snapshot, id string, cause error) (done bool, err error) {
	tctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout)
	defer cancel()
	resp, err := s.guarded(tctx, sn, []clientv3.Op{clientv3.OpPut(s.commitKey, "fence-"+id)})
	if err != nil {
		return true, fmt.Errorf("etcd: commit outcome unknown: %w (settling it: %w)", unavailable(cause), unavailable(err))
	}
	if resp.Succeeded {
		s.log.Warn("etcd commit reply lost; fenced off, running the transaction again", "txn", id, "err", cause)
		return false, s.waitFor(tctx, resp.Header.Revision)
	}
	if err := s.waitFor(tctx, commitRevision(resp)); err != nil {
		return true, err
	}
	rev, known := s.history.find(id, sn.commitRev)
	if !known {
		return true, fmt.Errorf("etcd: commit outcome unknown (the mirror reloaded since): %w", cause)
	}
	s.log.Warn("etcd commit reply lost; settled from the mirror", "txn", id, "committed", rev != 0, "err", cause)
	return rev != 0, nil
}

// guarded sends ops as one transaction that applies only if no commit
// came after sn. A member without a leader refuses it before proposing it
// (WithRequireLeader), so after such a refusal it is sent once more if the
// client has left that member (see leave.go).
func (s *Store) guarded(ctx context.Context, sn *snapshot, ops []clientv3.Op) (*clientv3.TxnResponse, error) {
	send := func() (*clientv3.TxnResponse, error) {
		return s.kv.Txn(clientv3.WithRequireLeader(ctx)).
			If(s.unchangedSince(sn)).
			Then(ops...).
			Else(clientv3.OpGet(s.commitKey)).
			Commit()
	}
	resp, err := send()
	if isNoLeader(err) && s.leaveLeaderless() {
		resp, err = send()
	}
	return resp, err
}

func (s *Store) unchangedSince(sn *snapshot) clientv3.Cmp {
	return clientv3.Compare(clientv3.ModRevision(s.commitKey), "=", sn.commitRev)
}

// commitRevision is the commit key's revision in a failed guard's reply.
func commitRevision(resp *clientv3.TxnResponse) int64 {
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		return kvs[0].ModRevision
	}
	return resp.Header.Revision
}

// ops turns the overlay into one etcd operation per key that changes,
// and refuses a set that one etcd transaction cannot carry.
func (s *Store) ops(t *tx) ([]clientv3.Op, error) {
	var ops []clientv3.Op
	size := len(s.commitKey) + 32
	t.overlay.Scan(func(k string, w write) bool {
		old, had := t.snap.tree.Get(k)
		switch {
		case w.del && had:
			ops = append(ops, clientv3.OpDelete(s.data+k))
		case !w.del && (!had || !bytes.Equal(old, w.val)):
			ops = append(ops, clientv3.OpPut(s.data+k, string(w.val)))
		default:
			return true
		}
		size += len(s.data) + len(k) + len(w.val) + 16
		return true
	})
	if len(ops)+1 > s.opts.MaxTxnOps || size > s.opts.MaxRequestBytes {
		return nil, fmt.Errorf("%w: %d keys, about %d bytes (at most %d keys and %d bytes)",
			ErrTxnTooLarge, len(ops), size, s.opts.MaxTxnOps-1, s.opts.MaxRequestBytes)
	}
	return ops, nil
}
