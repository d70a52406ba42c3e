package ldapserver

import (
	"context"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/ldapserver/internal/lber"
)

func (c *conn) bound() *who {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.who
}

// execute decodes one operation and runs it on the backend.
func (c *conn) execute(ctx context.Context, m *message) (opResult, []byte) {
	switch m.tag {
	case opBind:
		return c.execBind(ctx, m.op), nil
	case opSearch:
		return c.execSearch(ctx, m), nil
	case opCompare:
		return c.execCompare(ctx, m.op), nil
	case opModify, opAdd:
		return c.execChange(ctx, m.tag, m.op), nil
	case opDelete:
		return c.srv.Backend.delete(ctx, c.bound(), str(m.op)), nil
	case opModDN:
		return c.execModDN(ctx, m.op), nil
	case opExtended:
		return c.execExtended(ctx, m.op)
	}
	return fail(ldap.LDAPResultProtocolError, "unsupported operation"), nil
}

func (c *conn) execBind(ctx context.Context, op *ber.Packet) opResult {
	c.mu.Lock()
	c.who = anonymous // a failed bind leaves the connection anonymous
	c.mu.Unlock()
	defer func() { c.srv.bindChanged(c, !c.bound().anon) }() // before the client hears
	if err := children(op, 3, "bind request"); err != nil {
		return fail(ldap.LDAPResultProtocolError, err.Error())
	}
	if v, _ := intOf(op.Children[0]); v != 3 {
		return fail(ldap.LDAPResultProtocolError, "only LDAP version 3 is supported")
	}
	auth := op.Children[2]
	if auth.ClassType != ber.ClassContext || auth.Tag != 0 {
		return fail(ldap.LDAPResultAuthMethodNotSupported, "only simple binds are supported")
	}
	w, res := c.srv.Backend.bind(ctx, c.remote, str(op.Children[1]), auth.Data.Bytes())
	if res.code == ldap.LDAPResultSuccess {
		c.mu.Lock()
		c.who = w
		c.mu.Unlock()
	}
	return res
}

// execSearch runs a search within the smaller of the client's and the
// server's time limits, streaming entries as they are found.
func (c *conn) execSearch(ctx context.Context, m *message) opResult {
	q, err := decodeSearch(m.op)
	if err != nil {
		return fail(ldap.LDAPResultProtocolError, err.Error())
	}
	for _, ctl := range m.controls {
		if ctl.oid == oidPaging {
			if q.paging, err = pagingRequest(ctl.value); err != nil {
				return fail(ldap.LDAPResultProtocolError, err.Error())
			}
		}
	}
	q.owner, q.batches = c, c.batches
	limit := c.srv.MaxTimeLimit
	if q.timeLimit > 0 && time.Duration(q.timeLimit)*time.Second < limit {
		limit = time.Duration(q.timeLimit) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	return c.srv.Backend.search(ctx, c.bound(), q, func(dn string, attrs []outAttr) error {
		return c.sendEntry(ctx, m.id, dn, attrs)
	})
}

func (c *conn) execCompare(ctx context.Context, op *ber.Packet) opResult {
	if err := children(op, 2, "compare request"); err != nil || len(op.Children[1].Children) != 2 {
		return fail(ldap.LDAPResultProtocolError, "malformed compare request")
	}
	ava := op.Children[1].Children
	return c.srv.Backend.compare(ctx, c.bound(), str(op.Children[0]), str(ava[0]), str(ava[1]))
}

// execChange runs an Add or a Modify, which share the shape of a DN and a
// list of attributes.
func (c *conn) execChange(ctx context.Context, tag int, op *ber.Packet) opResult {
	if err := children(op, 2, "request"); err != nil {
		return fail(ldap.LDAPResultProtocolError, err.Error())
	}
	changes, err := decodeChanges(op.Children[1])
	if err != nil {
		return fail(ldap.LDAPResultProtocolError, err.Error())
	}
	if tag == opAdd {
		return c.srv.Backend.add(ctx, c.bound(), str(op.Children[0]), changes)
	}
	return c.srv.Backend.modify(ctx, c.bound(), str(op.Children[0]), changes)
}

func (c *conn) execModDN(ctx context.Context, op *ber.Packet) opResult {
	if err := children(op, 3, "modify DN request"); err != nil {
		return fail(ldap.LDAPResultProtocolError, err.Error())
	}
	superior := ""
	if len(op.Children) > 3 {
		superior = str(op.Children[3])
	}
	return c.srv.Backend.modifyDN(ctx, c.bound(), str(op.Children[0]), str(op.Children[1]), superior)
}

// execExtended runs Who am I? and Password Modify; the response value, if
// any, comes back encoded.
func (c *conn) execExtended(ctx context.Context, op *ber.Packet) (opResult, []byte) {
	if err := children(op, 1, "extended request"); err != nil {
		return fail(ldap.LDAPResultProtocolError, err.Error()), nil
	}
	name := str(op.Children[0])
	var value []byte
	if len(op.Children) > 1 {
		value = op.Children[1].Data.Bytes()
	}
	switch name {
	case oidWhoAmI:
		return ok(), lber.AppendString(nil, 0x8b, string(whoAmI(c.bound())))
	case oidPasswordModify:
		res, gen := c.srv.Backend.passwordModify(ctx, c.bound(), c.remote, value)
		if gen == nil {
			return res, nil
		}
		return res, lber.AppendString(nil, 0x8b, string(gen))
	}
	return fail(ldap.LDAPResultProtocolError, "unsupported extended operation "+name), nil
}
