package oidc

import (
	"bytes"
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

// TestNodesStartingTogetherShareOneTokenKey: two nodes on one etcd
// cluster start at once on a keyspace without a token key, each making
// it and then reading it, as New does before keeping it for good.
// Both must hold the same one, or codes and access tokens one node made
// would not open on the other.
func TestNodesStartingTogetherShareOneTokenKey(t *testing.T) {
	c, err := etcdtest.Start(t.TempDir(), 3)
	t.Cleanup(c.Close)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, directory.SecretKeySize)
	for round := range 10 {
		prefix := fmt.Sprintf("/oidc%d", round)
		a, _ := etcdDirectory(t, c.Endpoints[0], prefix, key)
		b, sb := etcdDirectory(t, c.Endpoints[1], prefix, key)
		dirs := []*directory.Directory{a, b}
		// The signing keys first, whose making (RSA) takes a random while,
		// so that the two nodes find the token key missing together.
		ctx := context.Background()
		if err := EnsureKeys(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := a.PutSecrets(ctx, map[string][]byte{secretTokenKey: nil}); err != nil {
			t.Fatal(err)
		}
		if err := sb.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		tokenKeys := make([][]byte, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, d := range dirs {
			wg.Go(func() {
				<-start
				if err := EnsureKeys(ctx, d); err != nil {
					t.Error(err)
					return
				}
				if tokenKeys[i], err = d.Secret(ctx, secretTokenKey); err != nil {
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		if !bytes.Equal(tokenKeys[0], tokenKeys[1]) {
			t.Fatalf("round %d: the two nodes hold different token keys", round)
		}
	}
}

func etcdDirectory(t *testing.T, endpoint, prefix string, key []byte) (*directory.Directory, *etcdstore.Store) {
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
	return d, s
}
