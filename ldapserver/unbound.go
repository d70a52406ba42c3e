package ldapserver

// trackUnboundLocked counts c among the connections that have not bound
// and returns the oldest of them when there are now more than
// MaxUnboundConns, for the caller to close. Each such connection holds at
// most MaxUnboundMessageSize and its buffers, so together they hold a
// bounded amount of memory; and since the oldest makes room, a flood of
// them cannot keep out a client that binds as soon as it connects.
func (s *Server) trackUnboundLocked(c *conn) (evict *conn) {
	s.arrivals++
	s.unbound[c] = s.arrivals
	if len(s.unbound) <= s.MaxUnboundConns {
		return nil
	}
	var first uint64
	for u, n := range s.unbound {
		if evict == nil || n < first {
			evict, first = u, n
		}
	}
	delete(s.unbound, evict)
	return evict
}

// bindChanged records whether c is bound after a bind request.
func (s *Server) bindChanged(c *conn, bound bool) {
	s.mu.Lock()
	var evict *conn
	if _, counted := s.unbound[c]; bound {
		delete(s.unbound, c)
	} else if !counted && s.conns[c] {
		evict = s.trackUnboundLocked(c)
	}
	s.mu.Unlock()
	if evict != nil {
		evict.close()
	}
}
