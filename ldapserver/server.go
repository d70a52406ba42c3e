package ldapserver

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/internal/connlimit"
	"github.com/atrium-dir/atrium/metrics"
)

// Server is the LDAP listener: connections, framing, concurrency and
// limits. Operations go to its Backend.
type Server struct {
	Backend *Backend
	Logger  *slog.Logger
	// TLSConfig serves LDAPS and StartTLS; nil disables both.
	TLSConfig *tls.Config
	// MaxConns caps open connections (default 4096).
	MaxConns int
	// MaxConnsPerAddress caps the open connections of one client address
	// (default 64), so that one client cannot take every slot.
	MaxConnsPerAddress int
	// Uncapped lists client addresses exempt from MaxConnsPerAddress.
	Uncapped []netip.Prefix
	// MaxInFlight caps concurrent operations of one connection (default 16).
	MaxInFlight int
	// IdleTimeout closes a connection that sent nothing and has nothing
	// running for this long (default 5 minutes).
	IdleTimeout time.Duration
	// WriteTimeout bounds every write to a client (default 30 s): a client
	// that stops reading loses its connection instead of holding the
	// operations that answer it.
	WriteTimeout time.Duration
	// TLSHandshakeTimeout bounds a TLS handshake (default 10 s).
	TLSHandshakeTimeout time.Duration
	// MaxMessageSize bounds one request (default 1 MiB).
	MaxMessageSize int
	// MaxUnboundMessageSize bounds one request before a bind succeeds
	// (default 64 KiB): binds, StartTLS and root DSE reads are small, and
	// connections nobody has vouched for should hold little memory.
	MaxUnboundMessageSize int
	// MaxUnboundConns caps the connections that have not bound (default
	// 512); see trackUnboundLocked.
	MaxUnboundConns int
	// MaxTimeLimit bounds every search (default 2 minutes).
	MaxTimeLimit time.Duration
	// Metrics counts operations and connections; nil counts nothing.
	Metrics *metrics.Metrics

	mu        sync.Mutex
	listeners map[net.Listener]bool
	conns     map[*conn]bool
	closing   bool
	wg        sync.WaitGroup
	perAddr   *connlimit.PerAddress // made once, by the first Serve
	unbound   map[*conn]uint64      // connections not bound, by order of arrival
	arrivals  uint64
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("ldap server closed")

func (s *Server) defaults() {
	if s.Logger == nil {
		s.Logger = slog.New(slog.DiscardHandler)
	}
	if s.MaxConns <= 0 {
		s.MaxConns = 4096
	}
	if s.MaxConnsPerAddress <= 0 {
		s.MaxConnsPerAddress = 64
	}
	if s.perAddr == nil {
		s.perAddr = &connlimit.PerAddress{Max: s.MaxConnsPerAddress, Allow: s.Uncapped}
	}
	if s.MaxInFlight <= 0 {
		s.MaxInFlight = 16
	}
	if s.IdleTimeout <= 0 {
		s.IdleTimeout = 5 * time.Minute
	}
	if s.WriteTimeout <= 0 {
		s.WriteTimeout = 30 * time.Second
	}
	if s.TLSHandshakeTimeout <= 0 {
		s.TLSHandshakeTimeout = 10 * time.Second
	}
	if s.MaxMessageSize <= 0 {
		s.MaxMessageSize = 1 << 20
	}
	if s.MaxUnboundMessageSize <= 0 {
		s.MaxUnboundMessageSize = min(64<<10, s.MaxMessageSize)
	}
	if s.MaxUnboundConns <= 0 {
		s.MaxUnboundConns = 512
	}
	if s.MaxTimeLimit <= 0 {
		s.MaxTimeLimit = 2 * time.Minute
	}
	if s.TLSConfig != nil && s.TLSConfig.MinVersion < tls.VersionTLS12 {
		cfg := s.TLSConfig.Clone()
		cfg.MinVersion = tls.VersionTLS12
		s.TLSConfig = cfg
	}
}

// Serve accepts plain LDAP connections on ln until Shutdown.
func (s *Server) Serve(ln net.Listener) error { return s.serve(ln, false) }

// ServeTLS accepts LDAPS connections on ln until Shutdown.
func (s *Server) ServeTLS(ln net.Listener) error {
	if s.TLSConfig == nil {
		return errors.New("ldaps needs a TLS configuration")
	}
	return s.serve(ln, true)
}

func (s *Server) serve(ln net.Listener, useTLS bool) error {
	s.mu.Lock()
	s.defaults()
	if s.closing {
		s.mu.Unlock()
		return ErrServerClosed
	}
	if s.listeners == nil {
		s.listeners, s.conns, s.unbound = map[net.Listener]bool{}, map[*conn]bool{}, map[*conn]uint64{}
	}
	s.listeners[ln] = true
	s.mu.Unlock()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			delay = s.acceptBackoff(delay, err)
			time.Sleep(delay)
			continue
		}
		delay = 0
		c := newConn(s, nc)
		release, ok := s.admit(c)
		if !ok {
			nc.Close()
			continue
		}
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, c)
				delete(s.unbound, c)
				s.mu.Unlock()
				release()
			}()
			c.serve(useTLS)
		}()
	}
}

// admit counts c among the open connections, or tells its client the
// server is busy when it is full or c's address holds its share.
func (s *Server) admit(c *conn) (release func(), ok bool) {
	release, ok = s.perAddr.Acquire(c.nc.RemoteAddr())
	if !ok {
		s.Metrics.LDAPRefused("per_address")
		c.disconnect(ldap.LDAPResultBusy, "too many connections from this address")
		return nil, false
	}
	s.mu.Lock()
	full := len(s.conns) >= s.MaxConns
	var evict *conn
	if !full && !s.closing {
		s.conns[c] = true
		evict = s.trackUnboundLocked(c)
		s.wg.Add(1)
	}
	closing := s.closing
	s.mu.Unlock()
	if full || closing {
		release()
		s.Metrics.LDAPRefused("busy")
		c.disconnect(ldap.LDAPResultBusy, "too many connections")
		return nil, false
	}
	if evict != nil {
		evict.close()
	}
	return s.counted(release), true
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// acceptBackoff is how long to wait after a failed accept, given the
// previous wait (0 after a success): 5 ms doubling to 1 s, as net/http
// waits. Running out of descriptors is the usual cause, and it passes as
// connections close, so the server keeps serving; the failure is logged
// once per burst.
func (s *Server) acceptBackoff(delay time.Duration, err error) time.Duration {
	if delay == 0 {
		s.Logger.Warn("ldap accept failed; retrying", "err", err)
		return 5 * time.Millisecond
	}
	return min(2*delay, time.Second)
}

// Shutdown stops accepting, closes every connection (idle ones at once,
// busy ones after cancelling their operations) and waits for them, or for
// ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
