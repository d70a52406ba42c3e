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

// TestPushAnsweredThroughOtherNode: a push approval started on node A,
// where the sign-in page waits, is answered by the phone through node B:
// B finds it pending, and A then sees it denied. Kept in one node's
// memory, B would find no such request and A would wait until it expired.
func TestPushAnsweredThroughOtherNode(t *testing.T) {
	c, err := etcdtest.Start(t.TempDir(), 3)
	t.Cleanup(c.Close)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	key := make([]byte, directory.SecretKeySize)
	a, b := etcdDirectory(t, c.Endpoints[0], "/push", key), etcdDirectory(t, c.Endpoints[1], "/push", key)
	keys, err := push.EnsureVAPID(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	alice, err := a.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	svc := newPushService(t, keys.PublicKey())
	if _, err := a.AddFactor(ctx, alice.ID, directory.Factor{Kind: directory.FactorPush, Name: "phone"}, svc.add(newPushDevice(t, "phone"))); err != nil {
		t.Fatal(err)
	}
	notifier := &push.WebPush{Keys: keys, Subscriber: push.Subscriber("https://sso.example.com"), Client: svc.srv.Client()}
	onA := push.NewApprovals(a, notifier, &fakeConfirmer{ceremonies: map[string]string{}}, nil)
	onB := push.NewApprovals(b, notifier, &fakeConfirmer{ceremonies: map[string]string{}}, nil)
	tx, err := onA.Start(ctx, push.Request{UserID: alice.ID, App: "Grafana", IP: "192.0.2.7", UserAgent: firefoxLinux})
	if err != nil {
		t.Fatal(err)
	}
	if s := onB.Status(ctx, tx.ID); s != push.Pending {
		t.Fatalf("the push started on A, on B: %s, want pending", s)
	}
	if err := onB.Deny(ctx, tx.ID, alice.ID); err != nil {
		t.Fatalf("deny through B: %v", err)
	}
	if s := onA.Status(ctx, tx.ID); s != push.Denied {
		t.Fatalf("the push denied through B, on A: %s, want denied", s)
	}
}
