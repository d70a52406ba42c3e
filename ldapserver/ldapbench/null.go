package ldapbench

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/atrium-dir/atrium/ldapserver/internal/lber"
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
		id, tag, body, err := lber.Op(raw)
		if err != nil {
			return
		}
		switch tag {
		case 0x42: // unbind
			return
		case 0x60: // bind
			c.bw.Write(lber.Envelope(id, success(0x61), nil))
		case 0x63: // search
			entries := 1
			if bytes.Contains(body, []byte("posixGroup")) {
				entries = 3
			}
			for range entries {
				c.bw.Write(lber.Envelope(id, nullEntry, nil))
			}
			c.bw.Write(lber.Envelope(id, success(0x65), nil))
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

func success(tag byte) []byte { return lber.ResultOp(tag, 0, "", "", nil) }

// nullEntry is the SearchResultEntry op of every answer: uid=null with
// uid: null.
var nullEntry = func() []byte {
	const dn, name, value = "uid=null", "uid", "null"
	vals := lber.TLVLen(len(value))
	attr := lber.TLVLen(len(name)) + lber.TLVLen(vals)
	attrs := lber.TLVLen(attr)
	b := lber.AppendHeader(nil, 0x64, lber.TLVLen(len(dn))+lber.TLVLen(attrs))
	b = lber.AppendString(b, lber.TagOctetString, dn)
	b = lber.AppendHeader(b, lber.TagSequence, attrs)
	b = lber.AppendHeader(b, lber.TagSequence, attr)
	b = lber.AppendString(b, lber.TagOctetString, name)
	b = lber.AppendHeader(b, lber.TagSet, vals)
	return lber.AppendString(b, lber.TagOctetString, value)
}()
