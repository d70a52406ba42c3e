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

// cluster is the three-member etcd cluster every test of the package
// shares, run in-process with real Raft between the members over
// loopback. Tests keep apart by using their own key prefixes.
var cluster struct {
	members   []*embed.Etcd
	endpoints []string
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "etcdstore-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	err = startCluster(dir, 3)
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, "start etcd cluster:", err)
	} else {
		code = m.Run()
	}
	for _, e := range cluster.members {
		e.Close()
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func startCluster(dir string, n int) error {
	var cfgs []*embed.Config
	var initial []string
	for i := range n {
		peer, client := freeURL(), freeURL()
		if peer == nil || client == nil {
			return errors.New("no free loopback port")
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
		cfg.InitialClusterToken = fmt.Sprintf("etcdstore-test-%d", os.Getpid())
		cfgs = append(cfgs, cfg)
		initial = append(initial, cfg.Name+"="+peer.String())
		cluster.endpoints = append(cluster.endpoints, client.String())
	}
	for _, cfg := range cfgs {
		cfg.InitialCluster = strings.Join(initial, ",")
		e, err := embed.StartEtcd(cfg)
		if err != nil {
			return err
		}
		cluster.members = append(cluster.members, e)
	}
	for _, e := range cluster.members {
		select {
		case <-e.Server.ReadyNotify():
		case err := <-e.Err():
			return err
		case <-time.After(30 * time.Second):
			return fmt.Errorf("member %s not ready after 30s", e.Config().Name)
		}
	}
	return nil
}

func freeURL() *url.URL {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil
	}
	defer l.Close()
	return &url.URL{Scheme: "http", Host: l.Addr().String()}
}

// newClient connects to the given members (all of them when none given).
func newClient(t testing.TB, members ...int) *clientv3.Client {
	t.Helper()
	eps := cluster.endpoints
	if len(members) > 0 {
		eps = nil
		for _, m := range members {
			eps = append(eps, cluster.endpoints[m])
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
