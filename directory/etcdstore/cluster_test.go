package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// testCluster is a three-member etcd cluster run in-process, with real
// Raft between the members over loopback.
type testCluster struct {
	cfgs      []*embed.Config
	members   []*embed.Etcd
	endpoints []string
}

// cluster is shared by every test of the package; tests keep apart by
// using their own key prefixes.
var cluster *testCluster

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "etcdstore-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	cluster, err = startCluster(dir, 3)
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, "start etcd cluster:", err)
	} else {
		code = m.Run()
	}
	cluster.close()
	os.RemoveAll(dir)
	os.Exit(code)
}

func startCluster(dir string, n int) (*testCluster, error) {
	c := &testCluster{}
	var initial []string
	for i := range n {
		peer, client := freeURL(), freeURL()
		if peer == nil || client == nil {
			return c, errors.New("no free loopback port")
		}
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
		// Short ticks keep elections quick; no fsync keeps two shared cores
		// from waiting on the disk. Neither changes the protocol.
		cfg.TickMs, cfg.ElectionMs = 10, 100
		cfg.UnsafeNoFsync = true
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		cfg.ClusterState = "new"
		cfg.InitialClusterToken = fmt.Sprintf("etcdstore-test-%d-%s", os.Getpid(), filepath.Base(dir))
		c.cfgs = append(c.cfgs, cfg)
		initial = append(initial, cfg.Name+"="+peer.String())
		c.endpoints = append(c.endpoints, client.String())
	}
	c.members = make([]*embed.Etcd, n)
	for i, cfg := range c.cfgs {
		cfg.InitialCluster = strings.Join(initial, ",")
		if err := c.start(i); err != nil {
			return c, err
		}
	}
	for i := range c.members {
		if err := c.ready(i); err != nil {
			return c, err
		}
	}
	return c, nil
}

// start starts member i, anew or again on its data directory.
func (c *testCluster) start(i int) error {
	e, err := embed.StartEtcd(c.cfgs[i])
	if err != nil {
		return err
	}
	c.members[i] = e
	return nil
}

func (c *testCluster) ready(i int) error {
	e := c.members[i]
	select {
	case <-e.Server.ReadyNotify():
		return nil
	case err := <-e.Err():
		return err
	case <-time.After(30 * time.Second):
		return fmt.Errorf("member %s not ready after 30s", e.Config().Name)
	}
}

// stop stops member i gracefully.
func (c *testCluster) stop(i int) {
	if c.members[i] != nil {
		c.members[i].Close()
		c.members[i] = nil
	}
}

func (c *testCluster) close() {
	for i := range c.members {
		c.stop(i)
	}
}

func freeURL() *url.URL {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil
	}
	defer l.Close()
	return &url.URL{Scheme: "http", Host: l.Addr().String()}
}

// newClient connects to the given members of the shared cluster (all of
// them when none given).
func newClient(t testing.TB, members ...int) *clientv3.Client {
	return cluster.client(t, members...)
}

func (c *testCluster) client(t testing.TB, members ...int) *clientv3.Client {
	t.Helper()
	eps := c.endpoints
	if len(members) > 0 {
		eps = nil
		for _, m := range members {
			eps = append(eps, c.endpoints[m])
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
