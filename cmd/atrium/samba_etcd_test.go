package main

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/etcdstore"
	"github.com/atrium-dir/atrium/directory/etcdstore/etcdtest"
	"github.com/atrium-dir/atrium/directory/password"
)

// Two nodes on one etcd cluster that start together with Samba on and
// no SID stored make one each; both must serve the stored one, or a NAS
// would see every identity change with the node it asks.
func TestSambaDomainSIDOfNodesStartingTogether(t *testing.T) {
	c, err := etcdtest.Start(t.TempDir(), 3)
	t.Cleanup(c.Close)
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig()
	cfg.Samba.Enabled = true
	for round := range 10 {
		prefix := fmt.Sprintf("/samba%d", round)
		dirs := []*directory.Directory{sambaNode(t, c.Endpoints[0], prefix), sambaNode(t, c.Endpoints[1], prefix)}
		sids := make([]string, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, d := range dirs {
			wg.Go(func() {
				<-start
				dom, err := sambaDomain(context.Background(), cfg, d)
				if err != nil {
					t.Error(err)
					return
				}
				sids[i] = dom.SID
			})
		}
		close(start)
		wg.Wait()
		if sids[0] != sids[1] {
			t.Fatalf("round %d: the two nodes serve domain SIDs %s and %s", round, sids[0], sids[1])
		}
	}
}

func sambaNode(t *testing.T, endpoint, prefix string) *directory.Directory {
	t.Helper()
	ctx := context.Background()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	s, err := etcdstore.Open(ctx, cli, etcdstore.Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams, SecretKey: make([]byte, directory.SecretKeySize), Samba: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
