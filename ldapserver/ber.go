package ldapserver

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// A small BER encoder for responses (hand-written because responses are
// the hot path: one allocation per message, no reflection), a framing
// reader that bounds message size and nesting before anything is decoded,
// and a decoder for requests (parseBER).

// LDAP application tags of responses (RFC 4511).
const (
	tagBindResponse     = 0x61
	tagSearchEntry      = 0x64
	tagSearchDone       = 0x65
	tagModifyResponse   = 0x67
	tagAddResponse      = 0x69
	tagDelResponse      = 0x6b
	tagModDNResponse    = 0x6d
	tagCompareResponse  = 0x6f
	tagExtendedResponse = 0x78
)

const (
	tagSequence    = 0x30
	tagSet         = 0x31
	tagInteger     = 0x02
	tagOctetString = 0x04
	tagEnumerated  = 0x0a
	tagBoolean     = 0x01
)

func lenLen(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n < 0x100:
		return 2
	case n < 0x10000:
		return 3
	case n < 0x1000000:
		return 4
	}
	return 5
}

// tlvLen is the size of a TLV whose content is n bytes.
func tlvLen(n int) int { return 1 + lenLen(n) + n }

func appendHeader(b []byte, tag byte, n int) []byte {
	b = append(b, tag)
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	case n < 0x10000:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

func appendString(b []byte, tag byte, s string) []byte {
	return append(appendHeader(b, tag, len(s)), s...)
}

func intContent(v int64) []byte {
	var out []byte
	for {
		out = append([]byte{byte(v)}, out...)
		v >>= 8
		if (v == 0 && out[0]&0x80 == 0) || (v == -1 && out[0]&0x80 != 0) {
			return out
		}
	}
}

func appendInt(b []byte, tag byte, v int64) []byte {
	c := intContent(v)
	return append(appendHeader(b, tag, len(c)), c...)
}

// envelope wraps a protocol op (already encoded) and optional encoded
// controls in an LDAPMessage.
func envelope(id int64, op []byte, controls []byte) []byte {
	idc := intContent(id)
	n := tlvLen(len(idc)) + len(op)
	if len(controls) > 0 {
		n += tlvLen(len(controls))
	}
	b := make([]byte, 0, tlvLen(n))
	b = appendHeader(b, tagSequence, n)
	b = append(appendHeader(b, tagInteger, len(idc)), idc...)
	b = append(b, op...)
	if len(controls) > 0 {
		b = append(appendHeader(b, 0xa0, len(controls)), controls...)
	}
	return b
}

// resultOp encodes an LDAPResult-shaped op with optional trailing fields
// (already encoded: referral, serverSaslCreds, responseName/Value).
func resultOp(tag byte, code uint16, matched, msg string, extra []byte) []byte {
	c := intContent(int64(code))
	n := tlvLen(len(c)) + tlvLen(len(matched)) + tlvLen(len(msg)) + len(extra)
	b := make([]byte, 0, tlvLen(n))
	b = appendHeader(b, tag, n)
	b = append(appendHeader(b, tagEnumerated, len(c)), c...)
	b = appendString(b, tagOctetString, matched)
	b = appendString(b, tagOctetString, msg)
	return append(b, extra...)
}

// entryMessage encodes a whole SearchResultEntry message in one buffer.
func entryMessage(id int64, dn string, attrs []outAttr) []byte {
	attrsLen := 0
	for _, a := range attrs {
		attrsLen += tlvLen(attrContentLen(a))
	}
	opLen := tlvLen(len(dn)) + tlvLen(attrsLen)
	idc := intContent(id)
	msgLen := tlvLen(len(idc)) + tlvLen(opLen)
	b := make([]byte, 0, tlvLen(msgLen))
	b = appendHeader(b, tagSequence, msgLen)
	b = append(appendHeader(b, tagInteger, len(idc)), idc...)
	b = appendHeader(b, tagSearchEntry, opLen)
	b = appendString(b, tagOctetString, dn)
	b = appendHeader(b, tagSequence, attrsLen)
	for _, a := range attrs {
		b = appendHeader(b, tagSequence, attrContentLen(a))
		b = appendString(b, tagOctetString, a.name)
		b = appendHeader(b, tagSet, valuesLen(a))
		for _, v := range a.values {
			b = appendString(b, tagOctetString, v)
		}
	}
	return b
}

func valuesLen(a outAttr) int {
	n := 0
	for _, v := range a.values {
		n += tlvLen(len(v))
	}
	return n
}

func attrContentLen(a outAttr) int { return tlvLen(len(a.name)) + tlvLen(valuesLen(a)) }

// Framing errors.
var (
	errTooLarge   = errors.New("message larger than the limit")
	errTooDeep    = errors.New("message nested too deeply")
	errNotMessage = errors.New("not an LDAP message")
)

// readMessage reads one BER-framed LDAPMessage of at most max bytes. The
// length is checked before the body is allocated.
func readMessage(r io.ByteReader, full io.Reader, max int) ([]byte, error) {
	tag, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	if tag != tagSequence {
		return nil, fmt.Errorf("%w: tag 0x%02x", errNotMessage, tag)
	}
	first, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	header := []byte{tag, first}
	n := int(first)
	if first&0x80 != 0 {
		k := int(first & 0x7f)
		if k == 0 || k > 4 {
			return nil, fmt.Errorf("%w: length of %d bytes", errNotMessage, k)
		}
		n = 0
		for range k {
			c, err := r.ReadByte()
			if err != nil {
				return nil, err
			}
			header = append(header, c)
			n = n<<8 | int(c)
		}
	}
	if n > max {
		return nil, errTooLarge
	}
	msg := make([]byte, len(header)+n)
	copy(msg, header)
	if _, err := io.ReadFull(full, msg[len(header):]); err != nil {
		return nil, err
	}
	return msg, nil
}

// checkNesting walks the TLVs of b without recursion and refuses nesting
// deeper than max, so the recursive decoder never sees a hostile depth. It
// returns how many elements b holds, for parseBER.
func checkNesting(b []byte, max int) (int, error) {
	type frame struct{ end int }
	stack := []frame{{len(b)}}
	elements := 0
	for i := 0; i < len(b); elements++ {
		for len(stack) > 1 && i >= stack[len(stack)-1].end {
			stack = stack[:len(stack)-1]
		}
		tag := b[i]
		i++
		if tag&0x1f == 0x1f {
			return 0, fmt.Errorf("%w: multi-byte tag", errNotMessage)
		}
		if i >= len(b) {
			return 0, fmt.Errorf("%w: truncated", errNotMessage)
		}
		n := int(b[i])
		i++
		if n&0x80 != 0 {
			k := n & 0x7f
			if k == 0 || k > 4 || i+k > len(b) {
				return 0, fmt.Errorf("%w: bad length", errNotMessage)
			}
			n = 0
			for range k {
				n = n<<8 | int(b[i])
				i++
			}
		}
		end := i + n
		if n < 0 || end > stack[len(stack)-1].end {
			return 0, fmt.Errorf("%w: length past its container", errNotMessage)
		}
		if tag&0x20 != 0 { // constructed: descend
			stack = append(stack, frame{end})
			if len(stack) > max {
				return 0, errTooDeep
			}
			continue
		}
		i = end
	}
	return elements, nil
}

// parseBER decodes one BER element into go-asn1-ber's Packet. It does what
// ber.DecodePacketErr does for the requests Atrium reads, several times
// faster: content is sliced from raw instead of copied, and constructed
// elements keep their content as their Data instead of re-encoding every
// child into it. Universal INTEGER and ENUMERATED get an int64 Value and
// BOOLEAN a bool, as in go-asn1-ber; other Values stay nil, because Atrium
// reads strings from Data. raw must have passed checkNesting (single-byte
// tags, definite lengths, bounded depth), whose element count sizes the
// Packets' allocation (0: one allocation per element). The Packets share
// raw's memory.
func parseBER(raw []byte, elements int) (*ber.Packet, error) {
	ps := berParser{boxes: make([]packetBox, elements), kids: make([]*ber.Packet, max(0, elements-1))}
	p, n, err := ps.element(raw)
	if err != nil {
		return nil, err
	}
	if n != len(raw) {
		return nil, fmt.Errorf("%d bytes after the element", len(raw)-n)
	}
	return p, nil
}

// berParser hands out one message's Packets, and their Children slices,
// from two slabs, so that decoding a request costs a few allocations
// rather than several per element. Past the slabs it allocates as it goes.
type berParser struct {
	boxes []packetBox
	kids  []*ber.Packet
}

// packetBox is a Packet with its Data buffer.
type packetBox struct {
	p ber.Packet
	b bytes.Buffer
}

func (ps *berParser) box() *packetBox {
	if len(ps.boxes) == 0 {
		return new(packetBox)
	}
	e := &ps.boxes[0]
	ps.boxes = ps.boxes[1:]
	return e
}

func (ps *berParser) children(n int) []*ber.Packet {
	if len(ps.kids) < n {
		return make([]*ber.Packet, 0, n)
	}
	k := ps.kids[:0:n]
	ps.kids = ps.kids[n:]
	return k
}

// header reads the tag and length at the start of b: the content's start
// and length.
func header(b []byte) (id byte, hl, n int, err error) {
	if len(b) < 2 {
		return 0, 0, 0, io.ErrUnexpectedEOF
	}
	id, first := b[0], b[1]
	if id&0x1f == 0x1f {
		return 0, 0, 0, errors.New("multi-byte tag")
	}
	n, hl = int(first), 2
	if first&0x80 != 0 {
		k := int(first & 0x7f)
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, 0, 0, errors.New("bad length")
		}
		n = 0
		for _, x := range b[2 : 2+k] {
			n = n<<8 | int(x)
		}
		hl += k
	}
	if n < 0 || len(b)-hl < n {
		return 0, 0, 0, io.ErrUnexpectedEOF
	}
	return id, hl, n, nil
}

// countElements counts the elements side by side in b, up to the first
// that cannot be read.
func countElements(b []byte) int {
	count := 0
	for len(b) > 0 {
		_, hl, n, err := header(b)
		if err != nil {
			break
		}
		count++
		b = b[hl+n:]
	}
	return count
}

func (ps *berParser) element(b []byte) (*ber.Packet, int, error) {
	id, hl, n, err := header(b)
	if err != nil {
		return nil, 0, err
	}
	content := b[hl : hl+n : hl+n]
	e := ps.box()
	e.b = *bytes.NewBuffer(content)
	p := &e.p
	p.Identifier = ber.Identifier{ClassType: ber.Class(id & 0xc0), TagType: ber.Type(id & 0x20), Tag: ber.Tag(id & 0x1f)}
	p.Data = &e.b
	if p.TagType == ber.TypeConstructed {
		p.Children = ps.children(countElements(content))
		for rest := content; len(rest) > 0; {
			child, used, err := ps.element(rest)
			if err != nil {
				return nil, 0, err
			}
			p.Children = append(p.Children, child)
			rest = rest[used:]
		}
		return p, hl + n, nil
	}
	p.ByteValue = content
	if p.ClassType == ber.ClassUniversal {
		switch p.Tag {
		case ber.TagInteger, ber.TagEnumerated:
			p.Value, _ = ber.ParseInt64(content)
		case ber.TagBoolean:
			v, _ := ber.ParseInt64(content)
			p.Value = v != 0
		}
	}
	return p, hl + n, nil
}
