package ldapbench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldap "github.com/go-ldap/ldap/v3"
)

// conn is a minimal LDAP client: requests are encoded once per operation
// and responses are only framed and counted, so that the load generator
// costs far less CPU than the servers it measures.
type conn struct {
	nc  net.Conn
	br  *bufio.Reader
	bw  *bufio.Writer
	buf []byte
}

func dial(addr string) (*conn, error) {
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &conn{nc: nc, br: bufio.NewReaderSize(nc, 64<<10), bw: bufio.NewWriterSize(nc, 4<<10)}, nil
}

func (c *conn) Close() error { return c.nc.Close() }

// send writes a request that has no response (Unbind).
func (c *conn) send(op *ber.Packet) error {
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), ""))
	msg.AppendChild(op)
	c.bw.Write(msg.Bytes())
	return c.bw.Flush()
}

// response is the final message of one operation.
type response struct {
	code    int64
	entries int
	cookie  []byte // of a paged results control
}

var errNoResponse = errors.New("connection closed before the response")

// do sends one request and reads until its final response.
func (c *conn) do(op *ber.Packet, controls ...*ber.Packet) (response, error) {
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), ""))
	msg.AppendChild(op)
	if len(controls) > 0 {
		cs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "")
		for _, ctl := range controls {
			cs.AppendChild(ctl)
		}
		msg.AppendChild(cs)
	}
	if _, err := c.bw.Write(msg.Bytes()); err != nil {
		return response{}, err
	}
	if err := c.bw.Flush(); err != nil {
		return response{}, err
	}
	var r response
	for {
		raw, err := c.read()
		if err != nil {
			return r, err
		}
		tag, body, err := protocolOp(raw)
		if err != nil {
			return r, err
		}
		switch tag {
		case 0x64: // search result entry
			r.entries++
			continue
		case 0x73: // reference
			continue
		}
		if len(body) < 3 || body[0] != 0x0a {
			return r, fmt.Errorf("response %#x without a result code", tag)
		}
		r.code = int64(body[2])
		if tag == 0x65 && op.Tag == 3 && len(controls) > 0 {
			r.cookie = pagingCookie(raw)
		}
		return r, nil
	}
}

// read returns one whole LDAPMessage.
func (c *conn) read() ([]byte, error) {
	head, err := c.br.Peek(2)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errNoResponse
		}
		return nil, err
	}
	if head[0] != 0x30 {
		return nil, fmt.Errorf("not an LDAP message: %#x", head[0])
	}
	n, hl := int(head[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		lb, err := c.br.Peek(2 + k)
		if err != nil {
			return nil, err
		}
		n = 0
		for _, b := range lb[2:] {
			n = n<<8 | int(b)
		}
		hl = 2 + k
	}
	if cap(c.buf) < hl+n {
		c.buf = make([]byte, hl+n)
	}
	c.buf = c.buf[:hl+n]
	_, err = io.ReadFull(c.br, c.buf)
	return c.buf, err
}

// protocolOp skips the envelope and message ID of raw and returns the
// operation's tag and contents.
func protocolOp(raw []byte) (byte, []byte, error) {
	msg, _, ok := tlv(raw)
	if !ok {
		return 0, nil, errors.New("bad envelope")
	}
	_, rest, ok := tlv(msg) // message ID
	if !ok || len(rest) < 2 {
		return 0, nil, errors.New("bad message ID")
	}
	tag := rest[0]
	body, _, ok := tlv(rest)
	if !ok {
		return 0, nil, errors.New("bad operation")
	}
	return tag, body, nil
}

// tlv returns the contents of the TLV at the start of b and what follows.
func tlv(b []byte) (contents, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, nil, false
	}
	n, hl := int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if len(b) < 2+k {
			return nil, nil, false
		}
		n = 0
		for _, x := range b[2 : 2+k] {
			n = n<<8 | int(x)
		}
		hl += k
	}
	if len(b) < hl+n {
		return nil, nil, false
	}
	return b[hl : hl+n], b[hl+n:], true
}

func pagingCookie(raw []byte) []byte {
	p, err := ber.DecodePacketErr(raw)
	if err != nil || len(p.Children) < 3 {
		return nil
	}
	ctl, err := ldap.DecodeControl(p.Children[2].Children[0])
	if err != nil {
		return nil
	}
	if pc, ok := ctl.(*ldap.ControlPaging); ok {
		return append([]byte(nil), pc.Cookie...)
	}
	return nil
}

func bindRequest(dn, pw string) *ber.Packet {
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 0, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(3), ""))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	p.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, pw, ""))
	return p
}

func unbindRequest() *ber.Packet {
	return ber.Encode(ber.ClassApplication, ber.TypePrimitive, 2, nil, "")
}

func searchRequest(base string, scope int, filter string, attrs ...string) (*ber.Packet, error) {
	f, err := ldap.CompileFilter(filter)
	if err != nil {
		return nil, err
	}
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 3, nil, "")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, base, ""))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(scope), ""))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(0), ""))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), ""))
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(0), ""))
	p.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))
	p.AppendChild(f)
	as := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	for _, a := range attrs {
		as.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, ""))
	}
	p.AppendChild(as)
	return p, nil
}

func pagingControl(size uint32, cookie []byte) *ber.Packet {
	c := ldap.NewControlPaging(size)
	c.SetCookie(cookie)
	return c.Encode()
}
