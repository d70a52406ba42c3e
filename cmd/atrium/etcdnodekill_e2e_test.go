package main

import (
	"context"
	"fmt"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/etcdstore"
)

// TestKillAtriumNodeWhileItWrites: two nodes on one cluster; three
// writers add users through node A's admin socket and one through node
// B's. Node A is killed with SIGKILL mid-stream. Node B goes on: every
// one of its writes succeeds, before and after, and it still answers
// binds. Afterwards every user either node acknowledged is in the
// cluster and the invariant check over the whole store passes, so no
// transaction A had under way was half applied. On both clusters.
func TestKillAtriumNodeWhileItWrites(t *testing.T) { onBothClusters(t, killAtriumNodeWhileItWrites) }

func killAtriumNodeWhileItWrites(t *testing.T, n *etcdNodes) {
	a := n.node(t, nil)
	n.ok(t, a, "alice password 1\n", "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	b := n.node(t, a)
	nodeA, nodeB := n.serve(t, a), n.serve(t, b)

	var mu sync.Mutex
	var acked []string
	var onA, onB atomic.Int64
	var stopA, stopB atomic.Bool
	var wg sync.WaitGroup
	var lastErr atomic.Value
	add := func(c *cli, uid string) error {
		cmd := exec.Command(atriumBin, append([]string{"user", "add", uid, "--mail", uid + "@example.com", "--data", c.data}, n.flags...)...)
		cmd.Env = c.env
		if out, err := cmd.CombinedOutput(); err != nil {
			err = fmt.Errorf("user add %s: %w: %s", uid, err, out)
			lastErr.Store(err)
			return err
		}
		mu.Lock()
		acked = append(acked, uid)
		mu.Unlock()
		return nil
	}
	for w := range 3 {
		wg.Go(func() {
			for i := 0; !stopA.Load(); i++ {
				if add(a, fmt.Sprintf("a%d-%d", w, i)) == nil {
					onA.Add(1)
				}
			}
		})
	}
	var failedOnB atomic.Value
	wg.Go(func() {
		for i := 0; !stopB.Load(); i++ {
			if err := add(b, fmt.Sprintf("b-%d", i)); err != nil {
				failedOnB.Store(err)
				return
			}
			onB.Add(1)
		}
	})
	waitFor(t, "writes on A", func() bool { return onA.Load() >= 9 || (onA.Load() == 0 && lastErr.Load() != nil) })
	if onA.Load() == 0 {
		stopA.Store(true)
		stopB.Store(true)
		wg.Wait()
		t.Fatal(lastErr.Load())
	}
	if err := syscall.Kill(nodeA.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-nodeA.exited
	stopA.Store(true)
	killedAt := onB.Load()
	waitFor(t, "writes on B after A died", func() bool { return onB.Load() >= killedAt+5 || failedOnB.Load() != nil })
	stopB.Store(true)
	wg.Wait()
	if err := failedOnB.Load(); err != nil {
		t.Fatalf("node B, while or after node A was killed: %v\n%s", err, nodeB.log)
	}
	mustBind(t, nodeB.ldapAddr, userDN("alice"), "alice password 1")
	checkCluster(t, n, acked)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 60s", what)
		}
	}
}

// checkCluster runs directory.Check over the cluster's store under the
// nodes' prefix and looks up every uid in want.
func checkCluster(t *testing.T, n *etcdNodes, want []string) {
	t.Helper()
	ctx := context.Background()
	kv, err := clientv3.New(clientv3.Config{Endpoints: n.endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	s, err := etcdstore.Open(ctx, kv, etcdstore.Options{Prefix: "/corp"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := directory.New(ctx, s, directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if problems, err := d.Check(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("check of the cluster: %v %v", err, problems)
	}
	for _, uid := range want {
		if _, err := d.User(ctx, uid); err != nil {
			t.Errorf("acknowledged user %s: %v", uid, err)
		}
	}
	t.Logf("%d acknowledged users found", len(want))
}
