package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/atrium-dir/atrium/directory"
)

// TestRefusalOnStaleMirrorIsRetried: node B has not yet seen a key node A
// made, and an Update on B that needs it must not answer "not found".
func TestRefusalOnStaleMirrorIsRetried(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := twoNodes(t)
	b.pauseWatch()
	must(t, a.Update(ctx, put("kv", "alice", "user")))
	firstRun := make(chan struct{})
	var runs atomic.Int32
	go func() {
		<-firstRun
		b.startWatch()
	}()
	err := b.Update(ctx, func(tx directory.Tx) error {
		if runs.Add(1) == 1 {
			close(firstRun)
		}
		if _, err := tx.Get("kv", "alice"); err != nil {
			return err
		}
		return tx.Put("kv", "alice-member", []byte("yes"))
	})
	if err != nil {
		t.Fatalf("Update on the node that had not seen alice yet: %v", err)
	}
	if runs.Load() < 2 {
		t.Fatalf("fn ran %d times; the stale first run should have been repeated", runs.Load())
	}
}

// lossyKV loses the reply of the next transaction: after applying it
// (a time-out after sending) or before sending it.
type lossyKV struct {
	clientv3.KV
	applied bool
	lose    atomic.Int32
}

func (k *lossyKV) Txn(ctx context.Context) clientv3.Txn {
	return &lossyTxn{Txn: k.KV.Txn(ctx), kv: k, ctx: ctx}
}

type lossyTxn struct {
	clientv3.Txn
	kv  *lossyKV
	ctx context.Context
}

func (t *lossyTxn) If(c ...clientv3.Cmp) clientv3.Txn  { t.Txn = t.Txn.If(c...); return t }
func (t *lossyTxn) Then(o ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Then(o...); return t }
func (t *lossyTxn) Else(o ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Else(o...); return t }

func (t *lossyTxn) Commit() (*clientv3.TxnResponse, error) {
	if t.kv.lose.Add(-1) < 0 {
		return t.Txn.Commit()
	}
	if t.kv.applied {
		if _, err := t.Txn.Commit(); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("simulated lost reply: context deadline exceeded")
}

func TestLostCommitReplyIsSettled(t *testing.T) {
	for _, applied := range []bool{true, false} {
		t.Run("applied="+strconv.FormatBool(applied), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s := openStore(t, newClient(t), freshPrefix())
			must(t, s.Update(ctx, put("kv", "n", "0")))
			lossy := &lossyKV{KV: s.kv, applied: applied}
			lossy.lose.Store(1)
			s.kv = lossy
			err := s.Update(ctx, func(tx directory.Tx) error {
				v, err := tx.Get("kv", "n")
				if err != nil {
					return err
				}
				n, _ := strconv.Atoi(string(v))
				return tx.Put("kv", "n", []byte(strconv.Itoa(n+1)))
			})
			if err != nil {
				t.Fatalf("Update whose reply was lost: %v", err)
			}
			resp, err := s.cli.Get(ctx, s.data+"kv\x00n")
			must(t, err)
			if got := string(resp.Kvs[0].Value); got != "1" {
				t.Fatalf("counter in etcd = %s after one increment", got)
			}
			if v, err := getString(t, s, "kv", "n"); err != nil || v != "1" {
				t.Fatalf("counter in the mirror = %q, %v", v, err)
			}
		})
	}
}

// TestUpdateWaitsForItsOwnCommit: with the node's watch held back, an
// Update that has committed does not return until the mirror holds the
// commit, so a View right after it reads the write (read-your-writes).
func TestUpdateWaitsForItsOwnCommit(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := openStore(t, newClient(t), freshPrefix())
	s.pauseWatch()
	done := make(chan error, 1)
	go func() { done <- s.Update(ctx, put("kv", "k", "v")) }()
	select {
	case err := <-done:
		t.Fatalf("Update returned (%v) before the mirror held its commit", err)
	case <-time.After(300 * time.Millisecond):
	}
	s.startWatch()
	must(t, <-done)
	if v, err := getString(t, s, "kv", "k"); err != nil || v != "v" {
		t.Fatalf("View right after the Update = %q, %v", v, err)
	}
}

// TestUpdateOutlastsABurstOfOtherCommits: an Update whose commits keep
// losing to another node (here six times, each time the other node
// commits while fn runs) runs fn again past MaxAttempts until
// ConflictTimeout is spent, and then commits; a node in a burst of writes
// made another node's 1,000 concurrent creations fail after 100 attempts.
func TestUpdateOutlastsABurstOfOtherCommits(t *testing.T) {
	cli, prefix := newClient(t), freshPrefix()
	other := openStore(t, cli, prefix)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, cli, Options{Prefix: prefix, MaxAttempts: 3, ConflictTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runs := 0
	err = s.Update(ctx, func(tx directory.Tx) error {
		if runs++; runs <= 6 {
			must(t, other.Update(ctx, func(tx directory.Tx) error {
				return tx.Put("burst", fmt.Sprint(runs), []byte("x"))
			}))
		}
		return tx.Put("mine", "key", []byte("v"))
	})
	if err != nil {
		t.Fatalf("the Update after %d runs: %v", runs, err)
	}
	if runs != 7 {
		t.Errorf("fn ran %d times, want 7", runs)
	}

	s.opts.ConflictTimeout = time.Millisecond
	runs = 0
	err = s.Update(ctx, func(tx directory.Tx) error {
		runs++
		must(t, other.Update(ctx, func(tx directory.Tx) error { return tx.Put("burst", "again", []byte(fmt.Sprint(runs))) }))
		return tx.Put("mine", "key", []byte("w"))
	})
	if !errors.Is(err, directory.ErrConflict) || runs != 3 {
		t.Errorf("with the time spent, the Update gave up after %d runs: %v", runs, err)
	}
}
