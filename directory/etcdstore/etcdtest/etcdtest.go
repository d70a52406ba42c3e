// Package etcdtest runs an etcd cluster inside a test process, with real
// Raft between its members over loopback, for the tests of etcdstore and
// of Atrium nodes on etcd.
package etcdtest

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/atrium-dir/atrium/internal/testenv"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Cluster is an in-process etcd cluster.
type Cluster struct {
	// Endpoints are the members' client URLs, by member.
	Endpoints []string
	cfgs      []*embed.Config
	members   []*embed.Etcd
}

// Start starts n members with data under dir and waits until each is
// ready. On error the members started are left for Close.
func Start(dir string, n int) (*Cluster, error) { return start(dir, n, nil) }

// StartTLS is Start with clients served over TLS by the server
// certificate of files, each asked for a certificate from its CA.
func StartTLS(dir string, n int, files TLSFiles) (*Cluster, error) { return start(dir, n, &files) }

// start starts the cluster, again on fresh ports if one of those picked
// was taken before its member listened on it.
func start(dir string, n int, files *TLSFiles) (*Cluster, error) {
	for attempt := 0; ; attempt++ {
		try := dir
		if attempt > 0 {
			try = filepath.Join(dir, fmt.Sprintf("retry%d", attempt))
		}
		c, err := startOnce(try, n, files)
		if err == nil || attempt == 4 || !strings.Contains(err.Error(), "address already in use") {
			return c, err
		}
		c.Close()
	}
}

func startOnce(dir string, n int, files *TLSFiles) (*Cluster, error) {
	c := &Cluster{}
	var initial []string
	for i := range n {
		peer, client := FreeURL(), FreeURL()
		if peer == nil || client == nil {
			return c, errors.New("no free loopback port")
		}
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*peer}, []url.URL{*peer}
		if files != nil {
			client.Scheme = "https"
			cfg.ClientTLSInfo = transport.TLSInfo{CertFile: files.ServerCert, KeyFile: files.ServerKey, TrustedCAFile: files.CA, ClientCertAuth: true}
		}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*client}, []url.URL{*client}
		// Short ticks keep elections quick; no fsync keeps two shared cores
		// from waiting on the disk. Neither changes the protocol.
		cfg.TickMs, cfg.ElectionMs = 10, 100
		cfg.UnsafeNoFsync = true
		cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
		cfg.ClusterState = "new"
		cfg.InitialClusterToken = fmt.Sprintf("etcdtest-%d-%s", os.Getpid(), filepath.Base(dir))
		c.cfgs = append(c.cfgs, cfg)
		initial = append(initial, cfg.Name+"="+peer.String())
		c.Endpoints = append(c.Endpoints, client.String())
	}
	c.members = make([]*embed.Etcd, n)
	for i, cfg := range c.cfgs {
		cfg.InitialCluster = strings.Join(initial, ",")
		if err := c.StartMember(i); err != nil {
			return c, err
		}
	}
	for i := range c.members {
		if err := c.Ready(i); err != nil {
			return c, err
		}
	}
	return c, nil
}

// StartMember starts member i, anew or again on its data directory.
func (c *Cluster) StartMember(i int) error {
	e, err := embed.StartEtcd(c.cfgs[i])
	if err != nil {
		return err
	}
	c.members[i] = e
	return nil
}

// Ready waits until member i has joined the cluster.
func (c *Cluster) Ready(i int) error {
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

// StopMember stops member i gracefully.
func (c *Cluster) StopMember(i int) {
	if c.members[i] != nil {
		c.members[i].Close()
		c.members[i] = nil
	}
}

// Close stops every member.
func (c *Cluster) Close() {
	for i := range c.members {
		c.StopMember(i)
	}
}

// FreeURL is an http URL on a loopback port free at the time of the call
// (testenv.FreePort), or nil when none is.
func FreeURL() *url.URL {
	port, err := testenv.FreePort()
	if err != nil {
		return nil
	}
	return &url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", port)}
}

// Partition cuts member i off from the other members: the Raft messages
// between them are dropped both ways (etcd's CutPeer), as a network split
// would, while clients still reach every member. Heal ends it.
func (c *Cluster) Partition(i int) { c.cut(i, true) }

// Heal lets member i reach the other members again after Partition.
func (c *Cluster) Heal(i int) { c.cut(i, false) }

func (c *Cluster) cut(i int, cut bool) {
	for j, other := range c.members {
		if j == i || other == nil {
			continue
		}
		a, b := c.members[i].Server, other.Server
		if cut {
			a.CutPeer(b.MemberID())
			b.CutPeer(a.MemberID())
		} else {
			a.MendPeer(b.MemberID())
			b.MendPeer(a.MemberID())
		}
	}
}

// LeaderOf is the index of the member that member i takes for the
// leader, or -1 when it knows none.
func (c *Cluster) LeaderOf(i int) int {
	lead := c.members[i].Server.Leader()
	for j, m := range c.members {
		if m != nil && lead != 0 && m.Server.MemberID() == lead {
			return j
		}
	}
	return -1
}
