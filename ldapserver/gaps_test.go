package ldapserver

import (
	"bufio"
	"net"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldap "github.com/go-ldap/ldap/v3"
)

// Tests for points of the issue that the behaviour, robustness and
// interop tests leave open.

// gapRaw is a connection that speaks LDAP by hand, for what go-ldap cannot
// send (reused message IDs, an Abandon at the right moment, oversized
// messages).
type gapRaw struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func gapDial(t *testing.T, addr string) *gapRaw {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return &gapRaw{t, nc, bufio.NewReader(nc)}
}

func (r *gapRaw) send(id int64, op *ber.Packet, controls ...*ber.Packet) {
	r.t.Helper()
	var cs []byte
	for _, c := range controls {
		cs = append(cs, c.Bytes()...)
	}
	if _, err := r.nc.Write(envelope(id, op.Bytes(), cs)); err != nil {
		r.t.Fatal(err)
	}
}

// next reads one message and returns its ID, operation tag and, for a
// result, its code.
func (r *gapRaw) next() (id int64, tag int, code int64) {
	r.t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	raw, err := readMessage(r.br, r.br, 16<<20)
	if err != nil {
		r.t.Fatalf("read: %v", err)
	}
	p, err := ber.DecodePacketErr(raw)
	if err != nil {
		r.t.Fatal(err)
	}
	id, _ = p.Children[0].Value.(int64)
	op := p.Children[1]
	if len(op.Children) > 0 && op.Tag != 4 {
		code, _ = op.Children[0].Value.(int64)
	}
	return id, int(op.Tag), code
}

// result reads until the final response of a request and returns its code.
func (r *gapRaw) result() (entries int, code int64) {
	r.t.Helper()
	for {
		_, tag, c := r.next()
		if tag == 4 {
			entries++
			continue
		}
		return entries, c
	}
}

func gapBind(dn, pw string) *ber.Packet {
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opBind, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(3), ""))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	p.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, pw, ""))
	return p
}

func gapSearch(t *testing.T, baseDN string, scope int, filter string, attrs ...string) *ber.Packet {
	t.Helper()
	f, err := ldap.CompileFilter(filter)
	if err != nil {
		t.Fatal(err)
	}
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opSearch, nil, "")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, baseDN, ""))
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
	return p
}

// A client may reuse a message ID as soon as it has the response (RFC 4511
// 4.1.1.1); the ending operation must not cancel the new one.
func TestMessageIDReusedAfterResponse(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	c := gapDial(t, addr)
	c.send(1, gapBind(readerDN, "reader-password"))
	if _, code := c.result(); code != 0 {
		t.Fatalf("bind: %d", code)
	}
	for i := range 2000 {
		c.send(1, gapSearch(t, base, scopeSub, "(uid=alice)", "uid"))
		if n, code := c.result(); code != 0 || n != 1 {
			t.Fatalf("search %d with a reused ID: %d entries, code %d", i, n, code)
		}
	}
}
