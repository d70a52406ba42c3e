package etcdstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// ClientConfig says how to reach the cluster.
type ClientConfig struct {
	Endpoints []string // e.g. https://a:2379
	// CA verifies the members' certificates (the system's roots without
	// it); Cert and Key authenticate this node to them. PEM files.
	CA, Cert, Key string
	// DialTimeout bounds reaching a first member (default 5s).
	DialTimeout time.Duration
}

// Dial connects to the cluster and checks that a member answers.
func Dial(ctx context.Context, cfg ClientConfig) (*clientv3.Client, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoints given")
	}
	if (cfg.Cert == "") != (cfg.Key == "") {
		return nil, errors.New("etcd: a client certificate needs its key, and a key its certificate")
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	c := clientv3.Config{Endpoints: cfg.Endpoints, DialTimeout: cfg.DialTimeout, Logger: zap.NewNop()}
	if cfg.CA != "" || cfg.Cert != "" || usesTLS(cfg.Endpoints) {
		tlsCfg, err := transport.TLSInfo{TrustedCAFile: cfg.CA, CertFile: cfg.Cert, KeyFile: cfg.Key}.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("etcd: TLS files: %w", err)
		}
		c.TLS = tlsCfg
	}
	cli, err := clientv3.New(c)
	if err != nil {
		return nil, fmt.Errorf("etcd: connect to %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	// A serializable read needs one live member, not a quorum: a node can
	// start and serve reads from its mirror while the cluster elects.
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if _, err := cli.Get(ctx, "/", clientv3.WithSerializable(), clientv3.WithCountOnly()); err != nil {
		cli.Close()
		return nil, fmt.Errorf("etcd: no member of %s answers: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	return cli, nil
}

func usesTLS(endpoints []string) bool {
	for _, e := range endpoints {
		if strings.HasPrefix(e, "https://") {
			return true
		}
	}
	return false
}
