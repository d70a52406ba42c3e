package ldapserver

import (
	"net"
	"runtime"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"
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
			for range conns {
				c, err := net.Dial("tcp", addr)
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
