package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/atrium-dir/atrium/console"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/internal/connlimit"
	"github.com/atrium-dir/atrium/internal/logsafe"
	"github.com/atrium-dir/atrium/ldapserver"
	"github.com/atrium-dir/atrium/ldif"
	"github.com/atrium-dir/atrium/metrics"
	"github.com/atrium-dir/atrium/oidc"
	"github.com/atrium-dir/atrium/otp"
	"github.com/atrium-dir/atrium/portal"
	"github.com/atrium-dir/atrium/samlidp"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func printYAML(w io.Writer, v any) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	return enc.Encode(v)
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configFile := fs.String("config", "", "YAML configuration file")
	given := map[string]*string{}
	for _, s := range settings {
		if s.flag != "" {
			given[s.flag] = fs.String(s.flag, "", "see atrium help")
		}
	}
	if err := fs.Parse(args); err != nil {
		return usagef("serve: %v", err)
	}
	flags := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		if p, ok := given[f.Name]; ok {
			flags[f.Name] = *p
		}
	})
	cfg, err := loadConfig(*configFile, flags)
	if err != nil {
		return err
	}
	if problems := cfg.Validate(); len(problems) > 0 {
		return fmt.Errorf("configuration problems:\n  %s", strings.Join(problems, "\n  "))
	}
	log := newLogger(cfg.LogFormat, stderr)
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return runServer(ctx, cfg, log)
}

// newLogger writes to w, letting through only a few repeats of a warning
// at a time (see logsafe.LimitWarnings).
func newLogger(format string, w io.Writer) *slog.Logger {
	var h slog.Handler = slog.NewTextHandler(w, nil)
	if format == "json" {
		h = slog.NewJSONHandler(w, nil)
	}
	return slog.New(logsafe.LimitWarnings(h, time.Now))
}

// runServer serves until ctx ends, then shuts down gracefully.
func runServer(ctx context.Context, cfg Config, log *slog.Logger) error {
	started := time.Now()
	fileLimit(cfg, log)
	m := newMetrics(cfg)
	d, store, err := openDirectory(ctx, cfg, 2*time.Second, log, m.Directory)
	if err != nil {
		return err
	}
	defer store.Close()
	defer d.Close()
	// Hashes run in low-priority (nice 10) child processes, so that first logins
	// cannot starve the other requests of a busy server.
	defer password.StartWorkers(log).Close()
	if err := firstStart(ctx, cfg, d, log); err != nil {
		return err
	}
	// Before the listeners open, so that the first requests cost what later
	// ones do.
	if err := d.Warm(ctx); err != nil {
		log.Warn("store not warmed: the first requests will be slower", "err", err)
	}
	tlsConfig, err := loadTLS(cfg)
	if err != nil {
		return err
	}
	samba, err := sambaDomain(ctx, cfg, d)
	if err != nil {
		return err
	}
	ldapSrv := ldapServer(cfg, d, tlsConfig, samba, m, log)
	watchHealth(m, cfg, d, tlsConfig)

	webConns := &connlimit.PerAddress{Max: cfg.Web.MaxConnsPerAddress, Allow: cfg.allowList()}
	var webSpare, adminSpare spareConns
	httpSrv := webSpare.serving(&http.Server{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}) // accept retries and TLS errors go to the one log
	web, err := webHandler(cfg, d, tlsConfig, httpSrv.RegisterOnShutdown, log)
	if err != nil {
		return err
	}
	httpSrv.Handler = withStoreHealth(web, store)
	go logStoreHealth(ctx, store, log)
	go sweepState(ctx, d, log)
	go scheduledBackups(ctx, cfg, d, log)
	adminSrv := adminSpare.serving(&http.Server{Handler: adminHandler(cfg, d, log), ReadHeaderTimeout: 10 * time.Second})

	errc, err := listenAll(cfg, adminSrv, []namedListener{
		{"ldap", cfg.LDAPAddr, ldapSrv.Serve},
		{"ldaps", cfg.LDAPSAddr, ldapSrv.ServeTLS},
		{"http", cfg.HTTPAddr, func(ln net.Listener) error { return httpSrv.Serve(webConns.Listener(ln)) }},
		{"metrics", cfg.Metrics.Addr, serveMetrics(ctx, m, log)},
	}, log)
	if err != nil {
		return err
	}
	log.Info("atrium ready", "version", version, "data", cfg.Data, "base_dn", cfg.BaseDN, "external_url", cfg.ExternalURL, "startup", time.Since(started).Round(time.Millisecond))

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-errc:
		log.Error("listener failed", "err", err)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ldapSrv.Shutdown(shutdown)
	shutdownHTTP(shutdown, httpSrv, &webSpare)
	shutdownHTTP(shutdown, adminSrv, &adminSpare)
	os.Remove(filepath.Join(cfg.Data, socketName))
	return err
}

// namedListener is one of the server's TCP listeners; an empty addr
// leaves it off.
type namedListener struct {
	name, addr string
	serve      func(net.Listener) error
}

// listenAll opens the admin socket and every listener with an address,
// and serves each in a goroutine of its own; the channel carries the
// first error any of them stops with.
func listenAll(cfg Config, admin *http.Server, listeners []namedListener, log *slog.Logger) (<-chan error, error) {
	errc := make(chan error, len(listeners)+1)
	adminLn, err := listenAdmin(cfg.Data)
	if err != nil {
		return nil, err
	}
	go func() { errc <- ignoreClosed(admin.Serve(adminLn)) }()
	for _, l := range listeners {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return nil, fmt.Errorf("%s listener: %w", l.name, err)
		}
		log.Info("listening", "service", l.name, "addr", ln.Addr().String())
		go func() { errc <- ignoreClosed(l.serve(ln)) }()
	}
	return errc, nil
}

// ldapServer is the LDAP front end on d, with cfg's access rules and limits.
func ldapServer(cfg Config, d *directory.Directory, tlsConfig *tls.Config, samba *ldapserver.SambaDomain, m *metrics.Metrics, log *slog.Logger) *ldapserver.Server {
	layout, _ := ldif.NewLayout(cfg.BaseDN)
	backend := ldapserver.NewBackend(ldapserver.BackendConfig{
		Directory: d, Layout: layout, Logger: log, Version: version, Now: d.Now,
		Samba: samba,
	})
	return &ldapserver.Server{Backend: backend, Logger: log, TLSConfig: tlsConfig, MaxConns: cfg.LDAP.MaxConns, IdleTimeout: cfg.LDAP.IdleTimeout,
		MaxConnsPerAddress: cfg.LDAP.MaxConnsPerAddress, Uncapped: cfg.allowList(), WriteTimeout: cfg.LDAP.WriteTimeout, Metrics: m}
}

// webHandler serves the sign-in and self-service pages, the SAML IdP, the
// OpenID Connect provider, passkeys, push approvals and /healthz.
// onShutdown registers what to stop with the server: the console's live
// searches, whose upgraded connections Shutdown leaves alone.
func webHandler(cfg Config, d *directory.Directory, tlsConfig *tls.Config, onShutdown func(func()), log *slog.Logger) (http.Handler, error) {
	ext, err := url.Parse(cfg.ExternalURL)
	if err != nil {
		return nil, err
	}
	e := signin.New(d, signin.Options{
		ExternalURL: ext, FlowsPerMinute: cfg.Web.SignInsPerMinute, Now: d.Now, Logger: log,
	})
	otp.Register(e, d)
	consoleOpts := console.Options{AdminGroups: cfg.Web.AdminGroups, Now: d.Now, Logger: log,
		Server: consoleServer(cfg, d, tlsConfig), Settings: cfg.consoleSettings()}
	if cfg.Mail.SMTPURL != "" {
		if consoleOpts.Mail, err = console.SMTP(cfg.Mail.SMTPURL, cfg.Mail.From); err != nil {
			return nil, err
		}
	}
	admin := console.New(d, e, consoleOpts)
	onShutdown(admin.CloseLive)
	p := portal.New(d, e, portal.Options{Now: d.Now, Logger: log, IsAdmin: admin.IsAdmin})
	p.AddAccountSection(otp.AppSection{})
	idp := samlidp.New(d, e, samlidp.Options{Now: d.Now, Logger: log})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.Handle("/saml/", web.Protect(idp.Handler(), log))
	if err := mountOIDC(mux, d, e, oidc.Options{Now: d.Now, Logger: log}); err != nil {
		return nil, err
	}
	keys, err := passkeys(d, e, p, ext, mux, log)
	if err != nil {
		return nil, err
	}
	if err := pushApprovals(d, e, p, keys, ext, mux, log); err != nil {
		return nil, err
	}
	// Recovery codes stand in for every factor above, so they come last.
	p.AddAccountSection(otp.NewRecoverySection(d))
	e.Mount(mux)
	otp.NewSelfService(d, e, otp.Options{Logger: log}).Mount(mux)
	admin.Mount(mux)
	mux.Handle("/", p.Handler())
	return web.TrustProxies(mux, cfg.trustedProxies()), nil
}

// consoleServer is what the console's device guides and overview show of
// this server.
func consoleServer(cfg Config, d *directory.Directory, tlsConfig *tls.Config) console.Server {
	s := console.Server{BaseDN: cfg.BaseDN, LDAPAddr: cfg.LDAPAddr, LDAPSAddr: cfg.LDAPSAddr, HTTPAddr: cfg.HTTPAddr,
		StorePath: filepath.Join(cfg.Data, "atrium.db"), BackupDir: cfg.Backup.Dir,
		SAMLCertificate: func(ctx context.Context) (*x509.Certificate, error) { return samlidp.SigningCertificate(ctx, d) }}
	if len(tlsConfig.Certificates) > 0 {
		s.Certificate = tlsConfig.Certificates[0].Leaf
	}
	return s
}

// sweepState removes expired sessions, flows and used request IDs.
func sweepState(ctx context.Context, d *directory.Directory, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := d.SweepState(ctx); err != nil {
				log.Warn("sweep expired sessions", "err", err)
			} else if n > 0 {
				log.Debug("swept expired sessions", "count", n)
			}
		}
	}
}

func ignoreClosed(err error) error {
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, ldapserver.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// firstStart creates what an empty data directory needs: the TLS
// certificate, the SAML signing key, and an admins group with an admin user
// whose password is logged once. The admin is made in one transaction, so
// a start killed at any point leaves either nothing of it or all of it.
func firstStart(ctx context.Context, cfg Config, d *directory.Directory, log *slog.Logger) error {
	if cfg.TLS.Cert == "" {
		if err := ensureSelfSignedTLS(cfg.Data, cfg.ExternalURL, d.Now()); err != nil {
			return err
		}
	}
	if err := samlidp.EnsureKey(ctx, d); err != nil {
		return err
	}
	need, err := d.NeedsSetup(ctx)
	if err != nil || !need {
		return err
	}
	pw := password.Generate(24)
	p, err := d.NewPassword(pw)
	if err != nil {
		return err
	}
	// Shown before it is stored: a start killed in between stores nothing,
	// and the next one shows a new password, so the last one shown works.
	log.Warn("first start: creating user admin in group admins; this password is shown once, change it with 'atrium user passwd admin'", "user", directory.AdminUID, "password", pw)
	err = d.Setup(ctx, p)
	if errors.Is(err, directory.ErrAlreadyExists) { // another node on the same etcd cluster (or a command) came first
		log.Warn("first start: another node or command set up the directory at the same moment; the password above was not stored, use the one logged there")
		return nil
	}
	return err
}

func loadTLS(cfg Config) (*tls.Config, error) {
	certFile, keyFile := cfg.TLS.Cert, cfg.TLS.Key
	if certFile == "" {
		certFile, keyFile = filepath.Join(cfg.Data, "tls.crt"), filepath.Join(cfg.Data, "tls.key")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls certificate: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}

// sambaDomain returns the Samba domain to serve, generating and storing
// its SID on first use. Only a SID that was never stored is generated:
// any other failure to read it (a wrong secret.key, say) stops start-up,
// since a new SID would change every Samba identity a NAS has cached.
func sambaDomain(ctx context.Context, cfg Config, d *directory.Directory) (*ldapserver.SambaDomain, error) {
	if !cfg.Samba.Enabled {
		return nil, nil
	}
	sid := cfg.Samba.SID
	if sid == "" {
		stored, err := d.Secret(ctx, secretSambaSID)
		switch {
		case err == nil:
			sid = string(stored)
		case errors.Is(err, directory.ErrNotFound):
			// Nodes of a shared store starting together agree on one.
			stored, err := d.EnsureSecret(ctx, secretSambaSID, []byte(newDomainSID()))
			if err != nil {
				return nil, fmt.Errorf("samba: store the new domain SID: %w", err)
			}
			sid = string(stored)
		default:
			return nil, fmt.Errorf("samba: cannot read the stored domain SID, so Atrium stops rather than change every Samba identity; "+
				"check that secret.key is the one this database was created with: %w", err)
		}
	}
	return &ldapserver.SambaDomain{Name: strings.ToUpper(cfg.Samba.Domain), SID: sid, NetBIOSNames: cfg.Samba.NetBIOSNames,
		Lockout: ldapserver.SambaLockout{Threshold: cfg.Samba.LockoutThreshold, Duration: cfg.Samba.LockoutDuration, Window: cfg.Samba.LockoutWindow}}, nil
}

// secretSambaSID names the stored domain SID, used when samba.sid is unset.
const secretSambaSID = "samba-domain-sid"
