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
	b := c.srv.Backend
	op := m.op
	switch m.tag {
	case opBind:
		c.mu.Lock()
		c.who = anonymous // a failed bind leaves the connection anonymous
		c.mu.Unlock()
		if err := children(op, 3, "bind request"); err != nil {
			return fail(ldap.LDAPResultProtocolError, err.Error()), nil
		}
		if v, _ := intOf(op.Children[0]); v != 3 {
			return fail(ldap.LDAPResultProtocolError, "only LDAP version 3 is supported"), nil
		}
		auth := op.Children[2]
		if auth.ClassType != ber.ClassContext || auth.Tag != 0 {
			return fail(ldap.LDAPResultAuthMethodNotSupported, "only simple binds are supported"), nil
		}
		w, res := b.bind(ctx, c.remote, str(op.Children[1]), auth.Data.Bytes())
		if res.code == ldap.LDAPResultSuccess {
			c.mu.Lock()
			c.who = w
			c.mu.Unlock()
		}
		return res, nil
	case opSearch:
		q, err := decodeSearch(op)
		if err != nil {
			return fail(ldap.LDAPResultProtocolError, err.Error()), nil
		}
		for _, ctl := range m.controls {
			if ctl.oid == oidPaging {
				if q.paging, err = pagingRequest(ctl.value); err != nil {
					return fail(ldap.LDAPResultProtocolError, err.Error()), nil
				}
			}
		}
		q.owner = c
		limit := c.srv.MaxTimeLimit
		if q.timeLimit > 0 && time.Duration(q.timeLimit)*time.Second < limit {
			limit = time.Duration(q.timeLimit) * time.Second
		}
		ctx, cancel := context.WithTimeout(ctx, limit)
		defer cancel()
		return b.search(ctx, c.bound(), q, func(dn string, attrs []outAttr) error {
			return c.sendEntry(ctx, m.id, dn, attrs)
		}), nil
	case opCompare:
		if err := children(op, 2, "compare request"); err != nil || len(op.Children[1].Children) != 2 {
			return fail(ldap.LDAPResultProtocolError, "malformed compare request"), nil
		}
		ava := op.Children[1].Children
		return b.compare(ctx, c.bound(), str(op.Children[0]), str(ava[0]), str(ava[1])), nil
	case opModify, opAdd:
		if err := children(op, 2, "request"); err != nil {
			return fail(ldap.LDAPResultProtocolError, err.Error()), nil
		}
		changes, err := decodeChanges(op.Children[1])
		if err != nil {
			return fail(ldap.LDAPResultProtocolError, err.Error()), nil
		}
		if m.tag == opAdd {
			return b.add(ctx, c.bound(), str(op.Children[0]), changes), nil
		}
		return b.modify(ctx, c.bound(), str(op.Children[0]), changes), nil
	case opDelete:
		return b.delete(ctx, c.bound(), str(op)), nil
	case opModDN:
		if err := children(op, 3, "modify DN request"); err != nil {
			return fail(ldap.LDAPResultProtocolError, err.Error()), nil
		}
		superior := ""
		if len(op.Children) > 3 {
			superior = str(op.Children[3])
		}
		return b.modifyDN(ctx, c.bound(), str(op.Children[0]), str(op.Children[1]), superior), nil
	case opExtended:
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
			res, gen := b.passwordModify(ctx, c.bound(), c.remote, value)
			if gen == nil {
				return res, nil
			}
			return res, lber.AppendString(nil, 0x8b, string(gen))
		}
		return fail(ldap.LDAPResultProtocolError, "unsupported extended operation "+name), nil
	}
	return fail(ldap.LDAPResultProtocolError, "unsupported operation"), nil
}
