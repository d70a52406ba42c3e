package push_test

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
	"github.com/atrium-dir/atrium/push"
)

// TestNodesStartingTogetherShareOneVAPIDKey: two nodes on one etcd
// cluster make the VAPID key at the same first start; both must end up
// with the stored one, or pushes to a phone subscribed through one node
// would be signed by the other with a key the push service refuses.
func TestNodesStartingTogetherShareOneVAPIDKey(t *testing.T) {
	c, err := etcdtest.Start(t.TempDir(), 3)
	t.Cleanup(c.Close)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, directory.SecretKeySize)
	for round := range 10 {
		prefix := fmt.Sprintf("/vapid%d", round)
		dirs := []*directory.Directory{etcdDirectory(t, c.Endpoints[0], prefix, key), etcdDirectory(t, c.Endpoints[1], prefix, key)}
		keys := make([]string, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, d := range dirs {
			wg.Go(func() {
				<-start
				v, err := push.EnsureVAPID(context.Background(), d)
				if err != nil {
					t.Error(err)
				}
				keys[i] = v.PublicKey()
			})
		}
		close(start)
		wg.Wait()
		if keys[0] != keys[1] {
			t.Fatalf("round %d: the two nodes use different VAPID keys", round)
		}
	}
}

func etcdDirectory(t *testing.T, endpoint, prefix string, key []byte) *directory.Directory {
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
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams, SecretKey: key})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}
