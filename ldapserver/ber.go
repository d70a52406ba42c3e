package ldapserver

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"sync"

	ber "github.com/go-asn1-ber/asn1-ber"

	"github.com/atrium-dir/atrium/ldapserver/internal/lber"
)

// LDAP's own layer above lber: search result entries, a check that bounds
// a request's nesting before anything is decoded, and a decoder for
// requests (parseBER).

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

// entryMessage encodes a whole SearchResultEntry message in one buffer.
func entryMessage(id int64, dn string, attrs []outAttr) []byte {
	return appendEntryMessage(nil, id, dn, attrs)
}

// appendEntryMessage is entryMessage appended to b, so that a connection
// can encode every entry of a search in the same buffer.
func appendEntryMessage(b []byte, id int64, dn string, attrs []outAttr) []byte {
	attrsLen := 0
	for _, a := range attrs {
		attrsLen += lber.TLVLen(attrContentLen(a))
	}
	opLen := lber.TLVLen(len(dn)) + lber.TLVLen(attrsLen)
	idc := lber.IntContent(id)
	msgLen := lber.TLVLen(len(idc)) + lber.TLVLen(opLen)
	b = slices.Grow(b, lber.TLVLen(msgLen))
	b = lber.AppendHeader(b, lber.TagSequence, msgLen)
	b = append(lber.AppendHeader(b, lber.TagInteger, len(idc)), idc...)
	b = lber.AppendHeader(b, tagSearchEntry, opLen)
	b = lber.AppendString(b, lber.TagOctetString, dn)
	b = lber.AppendHeader(b, lber.TagSequence, attrsLen)
	for _, a := range attrs {
		b = lber.AppendHeader(b, lber.TagSequence, attrContentLen(a))
		b = lber.AppendString(b, lber.TagOctetString, a.name)
		b = lber.AppendHeader(b, lber.TagSet, valuesLen(a))
		for _, v := range a.values {
			b = lber.AppendString(b, lber.TagOctetString, v)
		}
	}
	return b
}

func valuesLen(a outAttr) int {
	n := 0
	for _, v := range a.values {
		n += lber.TLVLen(len(v))
	}
	return n
}

func attrContentLen(a outAttr) int { return lber.TLVLen(len(a.name)) + lber.TLVLen(valuesLen(a)) }

var errTooDeep = errors.New("message nested too deeply")

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
			return 0, fmt.Errorf("%w: multi-byte tag", lber.ErrNotMessage)
		}
		if i >= len(b) {
			return 0, fmt.Errorf("%w: truncated", lber.ErrNotMessage)
		}
		n := int(b[i])
		i++
		if n&0x80 != 0 {
			k := n & 0x7f
			if k == 0 || k > 4 || i+k > len(b) {
				return 0, fmt.Errorf("%w: bad length", lber.ErrNotMessage)
			}
			n = 0
			for range k {
				n = n<<8 | int(b[i])
				i++
			}
		}
		end := i + n
		if n < 0 || end > stack[len(stack)-1].end {
			return 0, fmt.Errorf("%w: length past its container", lber.ErrNotMessage)
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
	return parseInto(raw, newSlab(elements))
}

// parseInto is parseBER into the Packets of s.
func parseInto(raw []byte, s *slab) (*ber.Packet, error) {
	ps := berParser{boxes: s.boxes, kids: s.kids}
	p, n, err := ps.element(raw)
	if err != nil {
		return nil, err
	}
	if n != len(raw) {
		return nil, fmt.Errorf("%d bytes after the element", len(raw)-n)
	}
	return p, nil
}

// slab is the memory one message's Packets are decoded into.
type slab struct {
	boxes []packetBox
	kids  []*ber.Packet
}

func newSlab(elements int) *slab {
	return &slab{boxes: make([]packetBox, elements), kids: make([]*ber.Packet, max(0, elements-1))}
}

// slabs keeps the slabs of answered requests (message.release) for the
// next ones: a search's Packets were about half of what it left for the
// collector, and each collection delays the requests it meets.
var slabs sync.Pool

// maxPooledSlab bounds the slabs kept: larger requests are rare.
const maxPooledSlab = 256

// pooledSlab returns a slab of at least elements Packets, reused when one
// is free.
func pooledSlab(elements int) *slab {
	if s, _ := slabs.Get().(*slab); s != nil && len(s.boxes) >= elements {
		return s
	}
	return newSlab(max(elements, 32))
}

// release clears s, so that it keeps no request alive, and keeps it for
// reuse.
func (s *slab) release() {
	if len(s.boxes) > maxPooledSlab {
		return
	}
	clear(s.boxes)
	clear(s.kids)
	slabs.Put(s)
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

// countElements counts the elements side by side in b, up to the first
// that cannot be read.
func countElements(b []byte) int {
	count := 0
	for len(b) > 0 {
		_, hl, n, err := lber.Header(b)
		if err != nil {
			break
		}
		count++
		b = b[hl+n:]
	}
	return count
}

func (ps *berParser) element(b []byte) (*ber.Packet, int, error) {
	id, hl, n, err := lber.Header(b)
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
