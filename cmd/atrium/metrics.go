package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/atrium-dir/atrium/backup"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/metrics"
	"github.com/atrium-dir/atrium/samlidp"
)

// newMetrics makes the registry when metrics.addr is set; otherwise it
// returns nil, which records nothing.
func newMetrics(cfg Config) *metrics.Metrics {
	if cfg.Metrics.Addr == "" {
		return nil
	}
	return metrics.New(metrics.Options{Version: version})
}

// watchHealth exports what is read at each scrape: the store file's size,
// the newest scheduled backup, and when the LDAPS and SAML signing
// certificates expire.
func watchHealth(m *metrics.Metrics, cfg Config, d *directory.Directory, tlsConfig *tls.Config) {
	if m == nil {
		return
	}
	m.StoreFile(filepath.Join(cfg.Data, "atrium.db"))
	if cfg.Backup.Dir != "" {
		m.LastBackup(func() (time.Time, bool) {
			t, err := backup.Newest(cfg.Backup.Dir)
			return t, err == nil
		})
	}
	if len(tlsConfig.Certificates) > 0 && tlsConfig.Certificates[0].Leaf != nil {
		leaf := tlsConfig.Certificates[0].Leaf // read once at start, like the listener's
		m.Certificate("ldaps", func() (*x509.Certificate, bool) { return leaf, true })
	}
	m.Certificate("saml", func() (*x509.Certificate, bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := samlidp.SigningCertificate(ctx, d)
		return c, err == nil
	})
}

// serveMetrics serves /metrics on a listener of its own until ctx ends:
// the HTTP listener faces users, and this one is for the monitoring.
func serveMetrics(ctx context.Context, m *metrics.Metrics, log *slog.Logger) func(net.Listener) error {
	return func(ln net.Listener) error {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		stop := context.AfterFunc(ctx, func() { srv.Close() })
		defer stop()
		return srv.Serve(ln)
	}
}
