package etcdstore

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/atrium-dir/atrium/directory/etcdstore/etcdtest"
)

// cluster is shared by every test of the package; tests keep apart by
// using their own key prefixes.
var cluster *etcdtest.Cluster

func TestMain(m *testing.M) {
	etcdtest.RunChildMember() // for TestKillEtcdMembersWhileNodesWrite
	dir, err := os.MkdirTemp("", "etcdstore-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cluster, err = etcdtest.Start(dir, 3)
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, "start etcd cluster:", err)
	} else {
		code = m.Run()
	}
	cluster.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

var freeURL = etcdtest.FreeURL

// newClient connects to the given members of the shared cluster (all of
// them when none given).
func newClient(t testing.TB, members ...int) *clientv3.Client {
	return clientOf(t, cluster, members...)
}

// clientOf connects to the given members of c (all of them when none given).
func clientOf(t testing.TB, c *etcdtest.Cluster, members ...int) *clientv3.Client {
	t.Helper()
	eps := c.Endpoints
	if len(members) > 0 {
		eps = nil
		for _, m := range members {
			eps = append(eps, c.Endpoints[m])
		}
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

var prefixes atomic.Int64

// freshPrefix is a key prefix no other test uses.
func freshPrefix() string { return fmt.Sprintf("/test%d", prefixes.Add(1)) }

// openStore opens a Store on prefix through cli, closed when the test ends.
func openStore(t testing.TB, cli *clientv3.Client, prefix string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, cli, Options{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
