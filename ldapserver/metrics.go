package ldapserver

import (
	"context"
)

// opNames name operations in metrics.
var opNames = map[int]string{
	opBind: "bind", opSearch: "search", opCompare: "compare", opModify: "modify", opAdd: "add",
	opDelete: "delete", opModDN: "moddn", opExtended: "extended",
}

// measured executes m, counting it with its result code and latency.
func (c *conn) measured(ctx context.Context, m *message) (opResult, []byte) {
	done := c.srv.Metrics.LDAPOp(opNames[m.tag])
	res, extra := c.execute(ctx, m)
	done(res.code)
	return res, extra
}

// counted counts a connection as open until release runs.
func (s *Server) counted(release func()) func() {
	s.Metrics.LDAPConnOpened()
	return func() {
		s.Metrics.LDAPConnClosed()
		release()
	}
}
