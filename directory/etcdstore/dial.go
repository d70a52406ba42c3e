package etcdstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
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
		err = fmt.Errorf("etcd: no member of %s answers: %w", strings.Join(cfg.Endpoints, ","), err)
		if c.TLS != nil {
			err = withTLSRefusal(err, cfg.Endpoints[0], c.TLS)
		}
		return nil, err
	}
	return cli, nil
}

// withTLSRefusal adds to err why endpoint refuses TLS, if it does. The
// etcd client retries a refused handshake until its time-out, so a client
// certificate the cluster does not accept would otherwise show only as
// "context deadline exceeded".
func withTLSRefusal(err error, endpoint string, cfg *tls.Config) error {
	u, perr := url.Parse(endpoint)
	if perr != nil || u.Scheme != "https" {
		return err
	}
	conn, herr := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", u.Host, cfg.Clone())
	var unknown x509.UnknownAuthorityError
	var invalid x509.CertificateInvalidError
	if errors.As(herr, &unknown) || errors.As(herr, &invalid) {
		return fmt.Errorf("%w: the certificate of %s is not trusted (%v); give the CA that signed the members' certificates", err, u.Host, herr)
	}
	if herr != nil {
		return err
	}
	defer conn.Close()
	// TLS 1.3 finishes the client's side of the handshake before the
	// member checks its certificate, so a refusal comes as an alert.
	conn.SetReadDeadline(time.Now().Add(time.Second))
	_, rerr := conn.Read(make([]byte, 1))
	var op *net.OpError
	if errors.As(rerr, &op) && op.Op == "remote error" {
		return fmt.Errorf("%w: %s refuses this node's client certificate (%v); the cluster accepts only one signed by the CA it trusts (etcd's --trusted-ca-file), given with its key", err, u.Host, op.Err)
	}
	return err
}

func usesTLS(endpoints []string) bool {
	for _, e := range endpoints {
		if strings.HasPrefix(e, "https://") {
			return true
		}
	}
	return false
}
