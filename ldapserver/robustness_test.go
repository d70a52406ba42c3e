package ldapserver

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/ldapserver/internal/lber"
)

func decodePacket(b []byte) (*ber.Packet, error) { return ber.DecodePacketErr(b) }

func sampleUser() directory.User {
	return directory.User{ID: "6f1c1c1e-0000-4000-8000-000000000001", UID: "alice", Mail: "alice@example.com", GivenName: "Alice", Surname: "Liddell", UIDNumber: 10001, GIDNumber: 10001, HomeDirectory: "/home/alice", LoginShell: "/bin/bash"}
}

// raw sends bytes on a fresh connection and returns what comes back
// before the server closes it or a second passes.
func raw(t *testing.T, addr string, b []byte) []byte {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(b)
	c.(*net.TCPConn).CloseWrite()
	c.SetReadDeadline(time.Now().Add(time.Second))
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}

// resultOf decodes the first message in b and returns its result code.
func resultOf(t *testing.T, b []byte) (tag int, code int64) {
	t.Helper()
	p, err := ber.DecodePacketErr(b)
	if err != nil || len(p.Children) < 2 || len(p.Children[1].Children) == 0 {
		t.Fatalf("no LDAP response in %x", b)
	}
	v, _ := p.Children[1].Children[0].Value.(int64)
	return int(p.Children[1].Tag), v
}

func TestBadInput(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	bystander := connect(t, addr, readerDN, "reader-password")
	search := func(flt string) []byte {
		p, err := ldap.CompileFilter(flt)
		if err != nil {
			t.Fatal(err)
		}
		req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opSearch, nil, "")
		req.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, base, ""))
		for _, v := range []int64{2, 0, 0, 0} {
			req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, v, ""))
		}
		req.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))
		req.AppendChild(p)
		req.AppendChild(ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, ""))
		return lber.Envelope(7, req.Bytes(), nil)
	}
	notice := func(t *testing.T, b []byte) {
		t.Helper()
		tag, code := resultOf(t, b)
		if tag != 24 || code != ldap.LDAPResultProtocolError {
			t.Fatalf("want a notice of disconnection with protocolError, got tag %d code %d", tag, code)
		}
	}
	t.Run("truncated PDU", func(t *testing.T) {
		b := search("(uid=alice)")
		notice(t, raw(t, addr, b[:len(b)-3]))
	})
	t.Run("oversized PDU", func(t *testing.T) {
		notice(t, raw(t, addr, []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff}))
	})
	t.Run("wrong outer tag", func(t *testing.T) {
		notice(t, raw(t, addr, []byte{0x04, 0x03, 'a', 'b', 'c'}))
	})
	t.Run("wrong operation tag keeps the connection", func(t *testing.T) {
		b := lber.Envelope(3, []byte{0x7e, 0x00}, nil) // application 30: no such operation
		out := raw(t, addr, append(b, search("(uid=alice)")...))
		_, code := resultOf(t, out)
		if code != ldap.LDAPResultProtocolError {
			t.Fatalf("unknown operation: code %d", code)
		}
	})
	t.Run("deep nesting", func(t *testing.T) {
		flt := lber.AppendString(nil, 0x87, "uid") // (uid=*)
		for range 5000 {
			flt = append(lber.AppendHeader(nil, 0xa2, len(flt)), flt...) // (!...)
		}
		op := lber.AppendString(nil, lber.TagOctetString, base)
		for _, v := range []int64{2, 0} {
			op = lber.AppendInt(op, lber.TagEnumerated, v)
		}
		for _, v := range []int64{0, 0} {
			op = lber.AppendInt(op, lber.TagInteger, v)
		}
		op = append(op, 0x01, 0x01, 0x00)
		op = append(op, flt...)
		op = lber.AppendHeader(op, lber.TagSequence, 0)
		notice(t, raw(t, addr, lber.Envelope(9, append(lber.AppendHeader(nil, 0x63, len(op)), op...), nil)))
	})
	t.Run("10,000-branch OR", func(t *testing.T) {
		var b strings.Builder
		b.WriteString("(|")
		for i := range 10000 {
			fmt.Fprintf(&b, "(uid=u%d)", i)
		}
		b.WriteString("(uid=alice))")
		res, err := bystander.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 0, false, b.String(), nil, nil))
		if err != nil {
			// Over the message limit is an acceptable answer too, as long as
			// it is a clear one and the server lives on.
			t.Logf("10,000-branch OR: %v", err)
		} else if len(res.Entries) != 1 {
			t.Errorf("10,000-branch OR: %d entries", len(res.Entries))
		}
	})
	if got := bystander.find(base, ldap.ScopeWholeSubtree, "(uid=bob)"); len(got) != 1 {
		t.Fatal("the server stopped serving other clients")
	}
}

func TestConnectionLimits(t *testing.T) {
	f := newFixture(t, Access{})
	t.Run("idle timeout closes only idle connections", func(t *testing.T) {
		// The busy client's gaps are a sixth of the timeout, so a loaded
		// machine does not make it look idle.
		_, addr := startServer(t, f, func(s *Server) { s.IdleTimeout = 1500 * time.Millisecond })
		idle := connect(t, addr, readerDN, "reader-password")
		busy := connect(t, addr, readerDN, "reader-password")
		for range 10 {
			time.Sleep(250 * time.Millisecond)
			busy.find(base, ldap.ScopeBaseObject, "(objectClass=*)")
		}
		if _, err := idle.Search(ldap.NewSearchRequest(base, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil)); err == nil {
			t.Error("an idle connection outlived the idle timeout")
		}
	})
	t.Run("TLS handshake timeout", func(t *testing.T) {
		s, _ := startServer(t, f, func(s *Server) { s.TLSHandshakeTimeout = 200 * time.Millisecond })
		ln := listenTCP(t)
		go s.ServeTLS(ln)
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		start := time.Now()
		_, err = c.Read(make([]byte, 1))
		if err == nil || time.Since(start) > 2*time.Second {
			t.Errorf("a silent TLS client was not dropped: %v after %s", err, time.Since(start))
		}
	})
	t.Run("connection cap", func(t *testing.T) {
		_, addr := startServer(t, f, func(s *Server) { s.MaxConns = 2 })
		connect(t, addr, "", "")
		connect(t, addr, "", "")
		time.Sleep(50 * time.Millisecond)
		out := raw(t, addr, nil)
		if tag, code := resultOf(t, out); tag != 24 || code != ldap.LDAPResultBusy {
			t.Errorf("third connection: tag %d code %d", tag, code)
		}
	})
	t.Run("shutdown is prompt with idle clients", func(t *testing.T) {
		s, addr := startServer(t, f)
		for range 5 {
			connect(t, addr, readerDN, "reader-password")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		start := time.Now()
		if err := s.Shutdown(ctx); err != nil || time.Since(start) > time.Second {
			t.Errorf("shutdown took %s: %v", time.Since(start), err)
		}
	})
}

// countingListener counts the writes of every accepted connection.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	return countingConn{c, l.writes}, err
}

func (c countingConn) Write(b []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(b)
}

func TestResponsesAreBuffered(t *testing.T) {
	f := newFixture(t, Access{})
	err := f.dir.Batch(context.Background(), func(b *directory.Batch) error {
		for i := range 1000 {
			if _, err := b.CreateUser(directory.User{UID: fmt.Sprintf("bulk%04d", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var writes atomic.Int64
	s := &Server{Backend: f.b}
	ln := countingListener{listenTCP(t), &writes}
	go s.Serve(ln)
	defer s.Shutdown(context.Background())
	c := connect(t, ln.Addr().String(), readerDN, "reader-password")
	before := writes.Load()
	got := c.find(peopleDN, ldap.ScopeSingleLevel, "(uid=bulk*)", "uid")
	n := writes.Load() - before
	if len(got) != 1000 || n > 20 {
		t.Errorf("%d entries in %d writes; responses are not buffered", len(got), n)
	}
}

func TestAbandonAndConcurrency(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	c := connect(t, addr, readerDN, "reader-password")
	// Several requests in flight on one connection.
	done := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(uid=alice)", nil, nil))
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// Abandon: the conn must stay usable afterwards.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	abandon := lber.Envelope(5, []byte{0x50, 0x01, 0x04}, nil)
	conn.Write(abandon)
	br := bufio.NewReader(conn)
	p := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opExtended, nil, "")
	p.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, oidWhoAmI, ""))
	conn.Write(lber.Envelope(6, p.Bytes(), nil))
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	msg, err := lber.ReadMessage(br, br, 1<<20, nil)
	if err != nil {
		t.Fatalf("connection unusable after abandon: %v", err)
	}
	if tag, code := resultOf(t, msg); tag != 24 || code != 0 {
		t.Errorf("whoami after abandon: tag %d code %d", tag, code)
	}
}

func TestPanicAnswersOther(t *testing.T) {
	f := newFixture(t, Access{})
	f.b.dir = nil // every directory call now panics
	_, addr := startServer(t, f)
	c := dial(t, addr)
	err := c.Bind(aliceDN, "alice-password")
	if resultCode(err) != ldap.LDAPResultOther {
		t.Fatalf("panicking bind: %v", err)
	}
	if _, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil)); err != nil {
		t.Fatalf("connection dead after a panic: %v", err)
	}
}
