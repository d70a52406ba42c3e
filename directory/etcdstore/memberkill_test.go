package etcdstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/etcdstore/etcdtest"
)

// acked is the uids whose creation was acknowledged to a writer.
type acked struct {
	mu   sync.Mutex
	uids []string
}

func (a *acked) add(uid string) { a.mu.Lock(); a.uids = append(a.uids, uid); a.mu.Unlock() }
func (a *acked) n() int         { a.mu.Lock(); defer a.mu.Unlock(); return len(a.uids) }

// TestKillEtcdMembersWhileNodesWrite: two directories create users
// without pause, each through a client of every member. The leader is
// killed with SIGKILL, then, once it is back, a follower. After each kill
// writes resume on both nodes; at the end every acknowledged user is in
// the store and the invariant check over the whole store passes. On a
// cluster of the etcd this module embeds, each member a child process
// (Embedded), and on one of Debian's etcd.
func TestKillEtcdMembersWhileNodesWrite(t *testing.T) {
	t.Run("Embedded", func(t *testing.T) { t.Parallel(); killMembersWhileNodesWrite(t, etcdtest.StartChildren(t)) })
	t.Run("Debian", func(t *testing.T) { t.Parallel(); killMembersWhileNodesWrite(t, etcdtest.StartProcesses(t)) })
}

func killMembersWhileNodesWrite(t *testing.T, p *etcdtest.Processes) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	prefix := freshPrefix()
	var dirs []*directory.Directory
	for i := range 2 {
		eps := append(p.Endpoints[i:], p.Endpoints[:i]...)
		s, err := Open(ctx, dialAll(t, eps), Options{Prefix: prefix, RequestTimeout: 2 * time.Second})
		must(t, err)
		t.Cleanup(func() { s.Close() })
		d, err := directory.New(ctx, s, directory.Options{})
		must(t, err)
		t.Cleanup(func() { d.Close() })
		dirs = append(dirs, d)
	}
	var ok acked
	var perNode [2]atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range 4 {
		node := w % 2
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				uid := fmt.Sprintf("n%dw%d-%d", node, w, i)
				if _, err := dirs[node].CreateUser(ctx, directory.User{UID: uid}); err == nil {
					ok.add(uid)
					perNode[node].Add(1)
				} else {
					time.Sleep(20 * time.Millisecond) // a member is down; the write is retried under a new uid
				}
			}
		})
	}
	// resumed waits until both nodes have had 10 more writes acknowledged.
	resumed := func(what string) {
		t.Helper()
		before := [2]int64{perNode[0].Load(), perNode[1].Load()}
		for perNode[0].Load() < before[0]+10 || perNode[1].Load() < before[1]+10 {
			if ctx.Err() != nil {
				stop.Store(true)
				t.Fatalf("writes did not resume after %s", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	resumed("the start")
	leader := p.Leader(ctx, -1)
	p.Kill(leader)
	resumed(fmt.Sprintf("killing the leader m%d", leader))
	p.Start(leader)
	follower := (p.Leader(ctx, leader) + 1) % 3 // a member that does not lead, perhaps the one restarted
	p.Kill(follower)
	resumed(fmt.Sprintf("killing the follower m%d", follower))
	stop.Store(true)
	wg.Wait()

	fresh, err := Open(ctx, dialAll(t, p.Endpoints), Options{Prefix: prefix})
	must(t, err)
	defer fresh.Close()
	d, err := directory.New(ctx, fresh, directory.Options{})
	must(t, err)
	defer d.Close()
	if problems, err := d.Check(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("check after the kills: %v %v", err, problems)
	}
	for _, uid := range ok.uids {
		if _, err := d.User(ctx, uid); err != nil {
			t.Errorf("acknowledged user %s: %v", uid, err)
		}
	}
	t.Logf("%d writes acknowledged", ok.n())
}

func dialAll(t *testing.T, endpoints []string) *clientv3.Client {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	must(t, err)
	t.Cleanup(func() { cli.Close() })
	return cli
}
