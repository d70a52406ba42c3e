package ldapserver

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/internal/testenv"
	"github.com/atrium-dir/atrium/ldapserver/internal/lber"
)

// heapInUse is the heap in use after a collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// 300 connections each declare a 1 MiB message and send 6 bytes of it.
// The server must not reserve the declared length: neither by default
// (unbound clients are held to a small message) nor when the unbound
// limit is raised to the full message size (buffers grow with the bytes
// that arrive).
func TestDeclaredLengthFlood(t *testing.T) {
	f := newFixture(t, Access{})
	const conns, bound = 300, 32 << 20
	for _, tc := range []struct {
		name    string
		unbound int
	}{{"default limits", 0}, {"unbound limit raised to 1 MiB", 1 << 20}} {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := startServer(t, f, func(s *Server) { s.MaxUnboundMessageSize = tc.unbound })
			before := heapInUse()
			var open []net.Conn
			defer func() {
				for _, c := range open {
					c.Close()
				}
			}()
			for i := range conns {
				// From ten addresses, each under its connection cap.
				d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+i%10))}}
				c, err := d.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				open = append(open, c)
				c.Write([]byte{0x30, 0x83, 0x10, 0x00, 0x00, 0x02}) // 1 MiB declared, 1 byte sent
			}
			time.Sleep(500 * time.Millisecond) // let the server read every header
			grew := int64(heapInUse()) - int64(before)
			t.Logf("%d connections declaring 1 MiB: heap grew %.1f MiB", conns, float64(grew)/(1<<20))
			if grew > bound {
				t.Errorf("heap grew %d MiB, want under %d MiB", grew>>20, bound>>20)
			}
			c := connect(t, addr, readerDN, "reader-password")
			if got := c.find(base, ldap.ScopeWholeSubtree, "(uid=alice)"); len(got) != 1 {
				t.Errorf("an ordinary client after the flood found %d entries", len(got))
			}
		})
	}
}

// Under a descriptor limit of 64, 150 connections run the server out of
// descriptors. Once they close, the server still answers: it waited and
// retried instead of returning from Serve, which ends the process.
func TestDescriptorExhaustion(t *testing.T) {
	if os.Getenv("ATRIUM_TEST_FD_CHILD") == "1" {
		serveUnderLowLimit(t)
		return
	}
	child := exec.Command(os.Args[0], "-test.run=^TestDescriptorExhaustion$", "-test.timeout=2m")
	child.Env = append(os.Environ(), "ATRIUM_TEST_FD_CHILD=1")
	var logs testenv.Output
	child.Stderr = &logs
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = child.Wait(); close(exited) }()
	defer func() {
		child.Process.Kill()
		<-exited
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	addr, found := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !found {
		t.Fatalf("child did not start: %q %v\n%s", line, err, logs.String())
	}
	var open []net.Conn
	for range 150 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial: %v", err) // the kernel's backlog takes what the server cannot accept
		}
		open = append(open, c)
	}
	time.Sleep(500 * time.Millisecond) // the server accepts until it runs out
	for _, c := range open {
		c.Close()
	}
	select {
	case <-exited:
		t.Fatalf("the server exited when it ran out of descriptors: %v\n%s", waitErr, logs.String())
	case <-time.After(500 * time.Millisecond):
	}
	c := connect(t, addr, readerDN, "reader-password")
	if got := c.find(base, ldap.ScopeWholeSubtree, "(uid=alice)"); len(got) != 1 {
		t.Errorf("after running out of descriptors the server found %d entries", len(got))
	}
	warnings := strings.Count(logs.String(), "ldap accept failed")
	t.Logf("accept failures logged %d times", warnings)
	if warnings == 0 || warnings > 5 {
		t.Errorf("accept failures logged %d times, want once per burst:\n%s", warnings, logs.String())
	}
}

// serveUnderLowLimit is the child of TestDescriptorExhaustion: it serves
// the fixture with at most 64 descriptors until it is killed.
func serveUnderLowLimit(t *testing.T) {
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: 64, Max: 64}); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, Access{})
	ln := listenTCP(t)
	s := &Server{Backend: f.b, Logger: slog.New(slog.NewTextHandler(os.Stderr, nil)), MaxConnsPerAddress: 1000}
	fmt.Printf("listening %s\n", ln.Addr())
	err := s.Serve(ln)
	fmt.Fprintf(os.Stderr, "Serve returned: %v\n", err)
	os.Exit(1)
}

// dialFrom connects to addr from the loopback address local.
func dialFrom(t *testing.T, local, addr string) (*ldap.Conn, error) {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 2 * time.Second}
	c, err := ldap.DialURL("ldap://"+addr, ldap.DialWithDialer(d))
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

// rootDSE reads the root DSE on c, which every client may do.
func rootDSE(c *ldap.Conn) error {
	_, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil))
	return err
}

// One address that holds its connections cannot keep another address
// out; an address on the allow list is not capped, and a closed
// connection gives its slot back.
func TestConnectionsPerAddress(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f, func(s *Server) {
		s.MaxConnsPerAddress = 4
		s.Uncapped = []netip.Prefix{netip.MustParsePrefix("127.0.0.4/32")}
	})
	var held []*ldap.Conn
	for i := range 4 {
		c, err := dialFrom(t, "127.0.0.2", addr)
		if err == nil {
			err = rootDSE(c)
		}
		if err != nil {
			t.Fatalf("connection %d of 127.0.0.2 under the cap: %v", i+1, err)
		}
		held = append(held, c)
	}
	if c, err := dialFrom(t, "127.0.0.2", addr); err == nil && rootDSE(c) == nil {
		t.Error("a fifth connection of 127.0.0.2 was served over a cap of 4")
	}
	other, err := dialFrom(t, "127.0.0.3", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Bind(readerDN, "reader-password"); err != nil {
		t.Errorf("127.0.0.3 while 127.0.0.2 holds its connections: %v", err)
	}
	for range 6 {
		c, err := dialFrom(t, "127.0.0.4", addr)
		if err == nil {
			err = rootDSE(c)
		}
		if err != nil {
			t.Fatalf("an allowed address was capped: %v", err)
		}
	}
	held[0].Close()
	time.Sleep(100 * time.Millisecond) // the server sees the close
	c, err := dialFrom(t, "127.0.0.2", addr)
	if err == nil {
		err = rootDSE(c)
	}
	if err != nil {
		t.Errorf("a closed connection did not give its slot back: %v", err)
	}
}

// RFC 4511 reserves message ID 0 for the server's notices: a request
// with it gets a notice of disconnection with protocolError.
func TestMessageIDZeroRefused(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	whoAmI := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opExtended, nil, "")
	whoAmI.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, oidWhoAmI, ""))
	tag, code := resultOf(t, raw(t, addr, lber.Envelope(0, whoAmI.Bytes(), nil)))
	if tag != 24 || code != ldap.LDAPResultProtocolError {
		t.Errorf("message ID 0: tag %d code %d, want a notice of disconnection with protocolError", tag, code)
	}
	if _, err := dial(t, addr).WhoAmI(nil); err != nil {
		t.Errorf("a client numbering its messages from 1: %v", err)
	}
}

// smallSendBuffers hands out connections whose kernel send buffer is
// small, so a client that stops reading blocks the server's writes soon.
type smallSendBuffers struct{ net.Listener }

func (l smallSendBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4096)
	}
	return c, err
}

// A client that resets its connection in the middle of searches is the
// client's doing: it is logged at debug level, never as an error.
func TestClientResetLoggedAtDebug(t *testing.T) {
	f := newFixture(t, Access{})
	var logs testenv.Output
	s := &Server{Backend: f.b, Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	f.b.log = s.Logger
	ln := listenTCP(t)
	go s.Serve(smallSendBuffers{ln})
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	c := stalledReader(t, ln.Addr().String())
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("no answer to the searches: %v", err)
	}
	c.(*net.TCPConn).SetLinger(0) // close with a reset
	c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "ldap client went away") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if out := logs.String(); strings.Contains(out, "level=ERROR") || !strings.Contains(out, "level=DEBUG msg=\"ldap client went away\"") {
		t.Errorf("want the reset at debug level and no error:\n%s", out)
	}
}

// searchAll is a whole-subtree search for every entry, with message ID id.
func searchAll(id int64) []byte {
	op := lber.AppendString(nil, lber.TagOctetString, base)
	op = lber.AppendInt(op, lber.TagEnumerated, 2)
	op = lber.AppendInt(op, lber.TagEnumerated, 0)
	op = lber.AppendInt(op, lber.TagInteger, 0)
	op = lber.AppendInt(op, lber.TagInteger, 0)
	op = append(op, 0x01, 0x01, 0x00)
	op = lber.AppendString(op, 0x87, "objectClass") // (objectClass=*)
	op = lber.AppendHeader(op, lber.TagSequence, 0)
	return lber.Envelope(id, append(lber.AppendHeader(nil, 0x63, len(op)), op...), nil)
}

// stalledReader connects to addr with a small receive buffer, binds as
// the reader and pipelines 200 searches of the whole tree, whose answers
// are more than the buffers of both ends hold.
func stalledReader(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	bind := lber.AppendInt(nil, lber.TagInteger, 3)
	bind = lber.AppendString(bind, lber.TagOctetString, readerDN)
	bind = lber.AppendString(bind, 0x80, "reader-password")
	pipeline := lber.Envelope(1000, append(lber.AppendHeader(nil, 0x60, len(bind)), bind...), nil)
	for i := range 200 {
		pipeline = append(pipeline, searchAll(int64(i+1))...)
	}
	if _, err := c.Write(pipeline); err != nil {
		t.Fatal(err)
	}
	return c
}

// openConns is how many connections s is serving.
func openConns(s *Server) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// A client that pipelines searches and never reads loses its connection
// after the write timeout, with every operation answering it ended,
// while another client is served all along.
func TestStalledReaderDropped(t *testing.T) {
	f := newFixture(t, Access{})
	s := &Server{Backend: f.b, WriteTimeout: 300 * time.Millisecond}
	ln := listenTCP(t)
	go s.Serve(smallSendBuffers{ln})
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	stalledReader(t, ln.Addr().String())
	other := connect(t, ln.Addr().String(), readerDN, "reader-password")
	if got := other.find(base, ldap.ScopeWholeSubtree, "(uid=alice)"); len(got) != 1 {
		t.Errorf("another client beside the stalled one found %d entries", len(got))
	}
	deadline := time.Now().Add(5 * time.Second)
	for openConns(s) > 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := openConns(s); n != 1 {
		t.Fatalf("%d connections open 5 s after a client stopped reading, want only the reading one", n)
	}
	if got := other.find(base, ldap.ScopeWholeSubtree, "(uid=bob)"); len(got) != 1 {
		t.Errorf("after the stalled client was dropped, found %d entries", len(got))
	}
}

// Connections that never bind are capped as a group: past the cap the
// oldest is closed, so they hold bounded memory, while a client bound
// before the flood keeps its connection and a new one can still bind.
func TestUnboundConnectionsCapped(t *testing.T) {
	f := newFixture(t, Access{})
	s, addr := startServer(t, f, func(s *Server) { s.MaxUnboundConns = 10 })
	early := connect(t, addr, readerDN, "reader-password")
	for i := range 40 {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(1+i%4))}}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		c.Write([]byte{0x30, 0x83, 0x00, 0xf0, 0x00, 0x02}) // a 60 KiB message, barely begun
	}
	deadline := time.Now().Add(5 * time.Second)
	for openConns(s) > 11 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := openConns(s); n > 11 {
		t.Errorf("%d connections open after 40 that never bound, want at most 10 of them and the bound one", n)
	}
	if got := early.find(base, ldap.ScopeWholeSubtree, "(uid=alice)"); len(got) != 1 {
		t.Errorf("the client bound before the flood found %d entries", len(got))
	}
	late := connect(t, addr, readerDN, "reader-password")
	if got := late.find(base, ldap.ScopeWholeSubtree, "(uid=bob)"); len(got) != 1 {
		t.Errorf("a client that binds during the flood found %d entries", len(got))
	}
}
