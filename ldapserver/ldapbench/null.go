package ldapbench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// NullEnv turns the benchmark binary into the null server: an LDAP
// responder that answers binds with success and searches with canned
// entries, looking nothing up. It runs on the same CPU with the same
// runtime settings as Atrium, so its latency in the same paced windows is
// the floor the machine itself sets.
const NullEnv = "ATRIUM_LDAPBENCH_NULL"

// StartNull starts exe (the benchmark's binary, which calls ServeNull when
// NullEnv is set) as the null server.
func StartNull(exe string, d Dataset) (*Server, error) {
	return startGo("null", exe, d, NullEnv+"=1")
}

// ServeNull is the null server: it listens on a loopback port, prints the
// address, and stops when stdin closes.
func ServeNull() error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Println(ln.Addr().String())
	go func() {
		io.Copy(io.Discard, os.Stdin)
		ln.Close()
	}()
	for {
		nc, err := ln.Accept()
		if err != nil {
			return nil
		}
		go serveNull(nc)
	}
}

// serveNull answers one connection. A search gets three entries when it
// asks for groups (the membership workload) and one otherwise, as the
// workloads expect.
func serveNull(nc net.Conn) {
	defer nc.Close()
	c := &conn{nc: nc, br: bufio.NewReaderSize(nc, 4<<10), bw: bufio.NewWriterSize(nc, 4<<10)}
	for {
		raw, err := c.read()
		if err != nil {
			return
		}
		msg, _, _ := tlv(raw)
		id, _, _ := tlv(msg)
		tag, body, err := protocolOp(raw)
		if err != nil {
			return
		}
		switch tag {
		case 0x42: // unbind
			return
		case 0x60: // bind
			c.bw.Write(nullMessage(id, result(1)))
		case 0x63: // search
			entries := 1
			if bytes.Contains(body, []byte("posixGroup")) {
				entries = 3
			}
			for range entries {
				c.bw.Write(nullMessage(id, nullEntry()))
			}
			c.bw.Write(nullMessage(id, result(5)))
		default:
			return
		}
		if c.br.Buffered() == 0 {
			if err := c.bw.Flush(); err != nil {
				return
			}
		}
	}
}

func nullMessage(id []byte, op *ber.Packet) []byte {
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, messageID(id), ""))
	msg.AppendChild(op)
	return msg.Bytes()
}

func result(tag ber.Tag) *ber.Packet {
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(0), ""))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	return p
}

func nullEntry() *ber.Packet {
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 4, nil, "")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "uid=null", ""))
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	attr := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	attr.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "uid", ""))
	vals := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "")
	vals.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "null", ""))
	attr.AppendChild(vals)
	attrs.AppendChild(attr)
	p.AppendChild(attrs)
	return p
}

func messageID(raw []byte) int64 {
	n, _ := ber.ParseInt64(raw)
	return n
}
