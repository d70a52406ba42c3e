package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/etcdstore"
)

// Store kinds.
const (
	storeBolt = "bolt" // one node: DATA/atrium.db
	storeEtcd = "etcd" // several nodes on one etcd cluster
)

// storeFlags choose the store; every command takes them, as serve does.
var storeFlags = []string{"store", "etcd-endpoints", "etcd-ca", "etcd-cert", "etcd-key", "etcd-prefix"}

// StoreConfig says which storage engine holds the directory.
type StoreConfig struct {
	Kind string     `yaml:"kind"` // bolt (default) or etcd
	Etcd EtcdConfig `yaml:"etcd"`
}

// EtcdConfig is how a node reaches the etcd cluster it shares.
type EtcdConfig struct {
	Endpoints []string `yaml:"endpoints"` // client URLs of the members
	// CA verifies the members' certificates; Cert and Key are this node's
	// client certificate. PEM files.
	CA     string `yaml:"ca"`
	Cert   string `yaml:"cert"`
	Key    string `yaml:"key"`
	Prefix string `yaml:"prefix"` // where Atrium's keys live (default /atrium)
	// RequestTimeout: a write waits this long for a quorum, then fails.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// RequireFreshLogins refuses logins while the cluster has no quorum;
	// by default they are checked against this node's last copy.
	RequireFreshLogins bool `yaml:"require_fresh_logins"`
}

func defaultStoreConfig() StoreConfig {
	return StoreConfig{Kind: storeBolt, Etcd: EtcdConfig{Prefix: etcdstore.DefaultPrefix, RequestTimeout: etcdstore.DefaultRequestTimeout}}
}

func duration(p func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("%q is not a duration (example: 10s)", v)
		}
		*p(c) = d
		return nil
	}
}

func boolean(p func(*Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*p(c) = b
		return nil
	}
}

// problems are the configuration mistakes of the store settings.
func (s StoreConfig) problems() []string {
	e := s.Etcd
	switch s.Kind {
	case storeBolt:
		if len(e.Endpoints) > 0 {
			return []string{"store.etcd.endpoints: set, but store.kind is bolt; set store.kind to etcd (--store etcd) to use the cluster"}
		}
		return nil
	case storeEtcd:
	default:
		return []string{fmt.Sprintf("store.kind: %q must be bolt or etcd", s.Kind)}
	}
	var p []string
	if len(e.Endpoints) == 0 {
		p = append(p, "store.etcd.endpoints: list the client URLs of the etcd members (example: --etcd-endpoints https://a:2379,https://b:2379,https://c:2379)")
	}
	for _, ep := range e.Endpoints {
		if u, err := url.Parse(ep); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p = append(p, fmt.Sprintf("store.etcd.endpoints: %q must be an http:// or https:// URL (example: https://etcd1:2379)", ep))
		}
	}
	if (e.Cert == "") != (e.Key == "") {
		p = append(p, "store.etcd: give both cert and key (this node's client certificate), or neither")
	}
	for _, f := range []string{e.CA, e.Cert, e.Key} {
		if f != "" {
			if _, err := os.Stat(f); err != nil {
				p = append(p, fmt.Sprintf("store.etcd: cannot read %s", f))
			}
		}
	}
	if !strings.HasPrefix(e.Prefix, "/") || strings.TrimRight(e.Prefix, "/") == "" {
		p = append(p, fmt.Sprintf("store.etcd.prefix: %q must be a key path such as /atrium", e.Prefix))
	}
	if e.RequestTimeout < 100*time.Millisecond {
		p = append(p, "store.etcd.request_timeout must be at least 100ms")
	}
	return p
}

// etcdNode is an etcd store with the client it owns.
type etcdNode struct {
	*etcdstore.Store
	cli *clientv3.Client
}

func (n etcdNode) Close() error {
	n.Store.Close()
	return n.cli.Close()
}

// openStore opens the store cfg names, and says how to copy it aside
// before a schema upgrade (directory.Options.BeforeMigrate).
func openStore(ctx context.Context, cfg Config, lockWait time.Duration, log *slog.Logger) (directory.Store, func(context.Context, int) error, error) {
	if cfg.Store.Kind != storeEtcd {
		s, err := boltstore.Open(filepath.Join(cfg.Data, "atrium.db"), lockWait)
		if err != nil {
			return nil, nil, err
		}
		return s, backupBeforeMigrate(s.Path(), s, log), nil
	}
	s, err := openEtcdDirectory(ctx, cfg.Store.Etcd, log)
	if err != nil {
		return nil, nil, err
	}
	return s, backupBeforeMigrate(filepath.Join(cfg.Data, "etcd"+strings.ReplaceAll(cfg.Store.Etcd.Prefix, "/", "-")), s, log), nil
}

// openEtcd connects to the cluster and loads the node's mirror.
func openEtcd(ctx context.Context, e EtcdConfig, log *slog.Logger) (etcdNode, error) {
	cli, err := etcdstore.Dial(ctx, etcdstore.ClientConfig{Endpoints: e.Endpoints, CA: e.CA, Cert: e.Cert, Key: e.Key})
	if err != nil {
		return etcdNode{}, err
	}
	s, err := etcdstore.Open(ctx, cli, etcdstore.Options{Prefix: e.Prefix, RequestTimeout: e.RequestTimeout, Logger: log})
	if err != nil {
		cli.Close()
		return etcdNode{}, err
	}
	return etcdNode{s, cli}, nil
}

// openEtcdDirectory is openEtcd for a directory: it refuses a keyspace
// that a migration or restore left half copied.
func openEtcdDirectory(ctx context.Context, e EtcdConfig, log *slog.Logger) (etcdNode, error) {
	n, err := openEtcd(ctx, e, log)
	if err == nil && n.Incomplete() {
		n.Close()
		return etcdNode{}, errIncomplete(e.Prefix)
	}
	return n, err
}

// checkSharedKey refuses a node whose secret.key cannot open the sealed
// secrets already in the cluster, before it serves anything.
func checkSharedKey(ctx context.Context, cfg Config, d *directory.Directory) error {
	if cfg.Store.Kind != storeEtcd {
		return nil
	}
	if err := d.CheckSecretKey(ctx); err != nil {
		return fmt.Errorf("%s does not match the key of the other nodes on this etcd cluster; copy secret.key from a working node into %s (every node needs the same key): %w",
			filepath.Join(cfg.Data, "secret.key"), cfg.Data, err)
	}
	return nil
}

// withStoreHealth answers /healthz on an etcd node with the state of its
// link to the cluster, and leaves everything else (and a bolt node's
// /healthz) to next. The first line is ok, or degraded (503) when the
// cluster cannot answer a quorum read: the node still serves reads and
// binds from its copy, but a load balancer should prefer another node.
func withStoreHealth(next http.Handler, s directory.Store) http.Handler {
	node, ok := s.(etcdNode)
	if !ok {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" || r.Method != http.MethodGet {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		h := node.Health(ctx)
		status, first, etcd := http.StatusOK, "ok", "reachable"
		if h.Err != nil {
			status, first, etcd = http.StatusServiceUnavailable, "degraded", "unavailable"
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "%s\nstore: etcd\netcd: %s\nmirror_revision: %d\ncommit_revision: %d\nmirror_lag: %d\nreloads: %d\n",
			first, etcd, h.MirrorRevision, h.CommitRevision, h.Lag, h.Reloads)
	})
}

// healthEvery is how often a node checks its link to the cluster.
const healthEvery = 5 * time.Second

// logStoreHealth says in the log when this node loses the cluster's
// quorum or its copy falls behind, and when it is back, once each.
func logStoreHealth(ctx context.Context, s directory.Store, log *slog.Logger) {
	if node, ok := s.(etcdNode); ok {
		logHealth(ctx, node.Health, healthEvery, log)
	}
}

// logHealth asks health every interval until ctx ends and logs the
// changes logStoreHealth describes.
func logHealth(ctx context.Context, health func(context.Context) etcdstore.Health, every time.Duration, log *slog.Logger) {
	var lost, behind bool
	lastLag := int64(0)
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
		h := health(ctx)
		switch {
		case h.Err != nil && !lost:
			log.Warn("etcd cluster lost: no quorum reachable; searches and binds go on from this node's copy, writes are refused", "mirror_revision", h.MirrorRevision, "err", h.Err)
		case h.Err == nil && lost:
			log.Info("etcd cluster reachable again", "mirror_revision", h.MirrorRevision)
		}
		lost = h.Err != nil
		// Lag seen twice in a row is a mirror that does not keep up, not a
		// commit caught in flight.
		switch {
		case h.Err == nil && h.Lag > 0 && lastLag > 0 && !behind:
			log.Warn("this node's copy falls behind the etcd cluster", "mirror_lag", h.Lag, "mirror_revision", h.MirrorRevision)
			behind = true
		case h.Err == nil && h.Lag == 0 && behind:
			log.Info("this node's copy has caught up with the etcd cluster")
			behind = false
		}
		lastLag = h.Lag
	}
}
