package etcdstore

import (
	"context"
	"sync/atomic"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/storetest"
)

// conflictingKV has another node commit just before every other
// transaction the store sends, so that each Update's first commit fails
// its guard and fn runs a second time, as after a real conflict.
type conflictingKV struct {
	clientv3.KV
	t         *testing.T
	commitKey string
	txns      atomic.Int64
}

func (k *conflictingKV) Txn(ctx context.Context) clientv3.Txn {
	if k.txns.Add(1)%2 == 1 {
		if _, err := k.KV.Put(ctx, k.commitKey, "another node"); err != nil {
			k.t.Error(err)
		}
	}
	return k.KV.Txn(ctx)
}

// TestConformanceWhereEveryUpdateRunsTwice runs the conformance suite on a
// store whose every Update loses its first commit to another node: an
// Update function of the directory with a side effect beyond its Tx (a
// count or a list kept from the first run, say) shows as a wrong result.
func TestConformanceWhereEveryUpdateRunsTwice(t *testing.T) {
	storetest.Run(t, func(t *testing.T) directory.Store {
		s := openStore(t, newClient(t), freshPrefix())
		kv := &conflictingKV{KV: s.kv, t: t, commitKey: s.commitKey}
		s.kv = kv
		t.Cleanup(func() {
			if kv.txns.Load() == 0 && !t.Failed() {
				t.Log("no transaction sent")
			}
		})
		return s
	})
}
