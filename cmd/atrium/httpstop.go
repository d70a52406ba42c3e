package main

import (
	"context"
	"net"
	"net/http"
	"sync"
	"time"
)

// spareConns tracks a server's connections that have not sent a request
// yet. An HTTP client often dials one more connection than it uses and
// keeps it for later; net/http's Shutdown counts such a connection as idle
// only once it is 5 s old, so a stopping server would wait for it.
type spareConns struct {
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// serving sets srv up to report its connections' states to s.
func (s *spareConns) serving(srv *http.Server) *http.Server {
	s.conns = map[net.Conn]struct{}{}
	srv.ConnState = s.track
	return srv
}

func (s *spareConns) track(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if state == http.StateNew {
		s.conns[c] = struct{}{}
	} else {
		delete(s.conns, c)
	}
}

func (s *spareConns) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
		delete(s.conns, c)
	}
}

// shutdownHTTP stops srv as Shutdown does, letting requests under way
// finish, and closes the connections that have sent none instead of
// waiting for them to age.
func shutdownHTTP(ctx context.Context, srv *http.Server, spare *spareConns) error {
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(ctx) }()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		spare.closeAll()
		select {
		case err := <-done:
			return err
		case <-tick.C:
		}
	}
}
