package etcdstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"

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
	for range s.opts.MaxAttempts {
		done, err := s.attempt(ctx, fn)
		if done || err != nil {
			return err
		}
	}
	return fmt.Errorf("etcd: %d attempts lost to other nodes' commits: %w", s.opts.MaxAttempts, directory.ErrConflict)
}

// attempt runs fn once and tries to commit it. done is false when another
// commit won; the mirror has then caught up with it.
func (s *Store) attempt(ctx context.Context, fn func(directory.Tx) error) (done bool, err error) {
	sn := s.snap.Load()
	t := &tx{snap: sn, overlay: btree.NewMap[string, write](32)}
	if err := fn(t); err != nil {
		return true, err
	}
	ops, err := s.ops(t)
	if err != nil || len(ops) == 0 {
		return true, err
	}
	resp, err := s.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.ModRevision(s.commitKey), "=", sn.commitRev)).
		Then(append(ops, clientv3.OpPut(s.commitKey, newTxnID()))...).
		Else(clientv3.OpGet(s.commitKey)).
		Commit()
	if errors.Is(err, rpctypes.ErrTooManyOps) || errors.Is(err, rpctypes.ErrRequestTooLarge) {
		return true, fmt.Errorf("etcd: %w: %w", ErrTxnTooLarge, err)
	}
	if err != nil {
		return true, fmt.Errorf("etcd: commit: %w", err)
	}
	if resp.Succeeded {
		return true, s.waitFor(ctx, resp.Header.Revision)
	}
	winner := resp.Header.Revision
	if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
		winner = kvs[0].ModRevision
	}
	return false, s.waitFor(ctx, winner)
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
