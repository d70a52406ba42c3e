package ldapserver

import (
	"errors"
	"fmt"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/ldapserver/internal/lber"
)

// LDAP application tags of requests (RFC 4511).
const (
	opBind     = 0
	opUnbind   = 2
	opSearch   = 3
	opModify   = 6
	opAdd      = 8
	opDelete   = 10
	opModDN    = 12
	opCompare  = 14
	opAbandon  = 16
	opExtended = 23
)

// responseTag is the tag of the response to each request.
var responseTag = map[int]byte{
	opBind: tagBindResponse, opSearch: tagSearchDone, opModify: tagModifyResponse,
	opAdd: tagAddResponse, opDelete: tagDelResponse, opModDN: tagModDNResponse,
	opCompare: tagCompareResponse, opExtended: tagExtendedResponse,
}

// control is a request control.
type control struct {
	oid      string
	critical bool
	value    []byte
}

// message is a decoded LDAPMessage envelope.
type message struct {
	id       int64
	op       *ber.Packet
	tag      int
	controls []control
	slab     *slab // op's memory, until release
}

// release gives m's Packets back for reuse once m is answered or dropped;
// m.op must not be read after.
func (m *message) release() {
	if m.slab != nil {
		m.slab.release()
		m.slab, m.op = nil, nil
	}
}

var errMalformed = errors.New("malformed request")

func malformed(what string) error { return fmt.Errorf("%w: %s", errMalformed, what) }

func decodeMessage(raw []byte) (*message, error) {
	elements, err := checkNesting(raw, maxNesting)
	if err != nil {
		return nil, err
	}
	s := pooledSlab(elements)
	p, err := parseInto(raw, s)
	if err != nil {
		s.release()
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	if len(p.Children) < 2 || p.Children[0].Tag != ber.TagInteger || p.Children[0].ClassType != ber.ClassUniversal {
		s.release()
		return nil, malformed("envelope")
	}
	id, ok := p.Children[0].Value.(int64)
	if !ok || id <= 0 {
		// RFC 4511 4.1.1.1: ID 0 is the server's, for unsolicited notices.
		s.release()
		return nil, malformed("message ID")
	}
	m := &message{id: id, op: p.Children[1], tag: int(p.Children[1].Tag), slab: s}
	if m.op.ClassType != ber.ClassApplication {
		return m, malformed("protocol op")
	}
	if len(p.Children) > 2 {
		c := p.Children[2]
		if c.ClassType != ber.ClassContext || c.Tag != 0 {
			return m, malformed("controls")
		}
		for _, cp := range c.Children {
			if len(cp.Children) == 0 {
				return m, malformed("control")
			}
			ctl := control{oid: str(cp.Children[0])}
			for _, f := range cp.Children[1:] {
				switch f.Tag {
				case ber.TagBoolean:
					ctl.critical, _ = f.Value.(bool)
				case ber.TagOctetString:
					ctl.value = f.Data.Bytes()
				}
			}
			m.controls = append(m.controls, ctl)
		}
	}
	return m, nil
}

// maxNesting bounds BER nesting; a filter of 60 levels is already absurd.
const maxNesting = 100

func str(p *ber.Packet) string { return string(p.Data.Bytes()) }

func intOf(p *ber.Packet) (int64, bool) {
	if p.ClassType != ber.ClassUniversal || (p.Tag != ber.TagInteger && p.Tag != ber.TagEnumerated) {
		return 0, false
	}
	v, ok := p.Value.(int64)
	return v, ok
}

// children checks that op has at least n children.
func children(op *ber.Packet, n int, what string) error {
	if len(op.Children) < n {
		return malformed(what)
	}
	return nil
}

func decodeSearch(op *ber.Packet) (*searchQuery, error) {
	if err := children(op, 8, "search request"); err != nil {
		return nil, err
	}
	c := op.Children
	scope, ok1 := intOf(c[1])
	size, ok2 := intOf(c[3])
	limit, ok3 := intOf(c[4])
	if !ok1 || !ok2 || !ok3 || scope < 0 || scope > 2 || size < 0 || limit < 0 {
		return nil, malformed("search parameters")
	}
	types, _ := c[5].Value.(bool)
	f, err := decodeFilter(c[6])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errMalformed, err)
	}
	q := &searchQuery{base: str(c[0]), scope: int(scope), sizeLimit: int(size), typesOnly: types, filter: f}
	q.timeLimit = int(limit)
	for _, a := range c[7].Children {
		q.attrs = append(q.attrs, str(a))
	}
	return q, nil
}

func decodeChanges(op *ber.Packet) ([]change, error) {
	var out []change
	for _, c := range op.Children {
		ch := change{op: -1}
		var mod *ber.Packet
		if len(c.Children) == 2 && c.Children[0].Tag == ber.TagEnumerated {
			v, _ := intOf(c.Children[0])
			ch.op, mod = int(v), c.Children[1]
		} else {
			ch.op, mod = ldap.AddAttribute, c // an AddRequest attribute
		}
		if len(mod.Children) != 2 || ch.op < 0 || ch.op > 3 {
			return nil, malformed("modification")
		}
		ch.attr = str(mod.Children[0])
		for _, v := range mod.Children[1].Children {
			ch.values = append(ch.values, str(v))
		}
		out = append(out, ch)
	}
	return out, nil
}

// pagingRequest reads the value of a paged results control.
func pagingRequest(v []byte) (*ldap.ControlPaging, error) {
	p, err := ber.DecodePacketErr(v)
	if err != nil || len(p.Children) != 2 {
		return nil, malformed("paged results control")
	}
	size, ok := intOf(p.Children[0])
	if !ok || size < 0 {
		return nil, malformed("paged results size")
	}
	return &ldap.ControlPaging{PagingSize: uint32(size), Cookie: p.Children[1].Data.Bytes()}, nil
}

// encodeControls encodes response controls.
func encodeControls(cs []ldap.Control) []byte {
	var out []byte
	for _, c := range cs {
		var value []byte
		if p, ok := c.(*ldap.ControlPaging); ok {
			size := lber.IntContent(int64(p.PagingSize))
			inner := lber.TLVLen(len(size)) + lber.TLVLen(len(p.Cookie))
			value = lber.AppendHeader(nil, lber.TagSequence, inner)
			value = append(lber.AppendHeader(value, lber.TagInteger, len(size)), size...)
			value = lber.AppendString(value, lber.TagOctetString, string(p.Cookie))
		}
		oid := c.GetControlType()
		n := lber.TLVLen(len(oid)) + lber.TLVLen(len(value))
		out = lber.AppendHeader(out, lber.TagSequence, n)
		out = lber.AppendString(out, lber.TagOctetString, oid)
		out = lber.AppendString(out, lber.TagOctetString, string(value))
	}
	return out
}
