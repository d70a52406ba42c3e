package ldapbench

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/ldapserver/internal/lber"
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

// maxResponse bounds one response message, as the server bounds requests.
const maxResponse = 16 << 20

// send writes a request that has no response (Unbind).
func (c *conn) send(op *ber.Packet) error {
	c.bw.Write(lber.Envelope(1, op.Bytes(), nil))
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
	var cs []byte
	for _, ctl := range controls {
		cs = append(cs, ctl.Bytes()...)
	}
	return c.exchange(lber.Envelope(1, op.Bytes(), cs), op.Tag == 3 && len(controls) > 0)
}

// exchange sends msg, a whole LDAPMessage, and reads until its final
// response; paged says to keep the cookie of a paged results control.
func (c *conn) exchange(msg []byte, paged bool) (response, error) {
	if _, err := c.bw.Write(msg); err != nil {
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
		_, tag, body, err := lber.Op(raw)
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
		if len(body) < 3 || body[0] != lber.TagEnumerated {
			return r, fmt.Errorf("response %#x without a result code", tag)
		}
		r.code = int64(body[2])
		if tag == 0x65 && paged {
			r.cookie = pagingCookie(raw)
		}
		return r, nil
	}
}

// read returns one whole LDAPMessage, in a buffer reused by the next read.
func (c *conn) read() ([]byte, error) {
	raw, err := lber.ReadMessage(c.br, c.br, maxResponse, c.buf)
	if errors.Is(err, io.EOF) {
		return nil, errNoResponse
	}
	if cap(raw) > cap(c.buf) {
		c.buf = raw
	}
	return raw, err
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

// requestCache holds each user's request of one workload once encoded:
// building a search (compiling its filter, encoding it) costs the load
// generator as much CPU as a server spends answering it, and time spent
// there is counted in the latency it measures.
type requestCache []atomic.Pointer[[]byte]

// get returns the request of user i, encoding it with build the first
// time.
func (rc requestCache) get(i int, build func() (*ber.Packet, error)) ([]byte, error) {
	if msg := rc[i].Load(); msg != nil {
		return *msg, nil
	}
	op, err := build()
	if err != nil {
		return nil, err
	}
	msg := lber.Envelope(1, op.Bytes(), nil)
	rc[i].Store(&msg)
	return msg, nil
}
