package connlimit

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"
)

// dialFrom opens a connection to addr from the loopback address local.
func dialFrom(t *testing.T, local, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// get sends one keep-alive request on c and reports whether it was answered.
func get(c net.Conn) bool {
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		return false
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// One address that holds its connections open cannot keep another out of
// a web server; an allowed address is not capped, and a closed
// connection gives its slot back.
func TestWebListenerPerAddress(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	limit := &PerAddress{Max: 3, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.4/32")}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(limit.Listener(inner))
	t.Cleanup(func() { srv.Close() })
	addr := inner.Addr().String()

	var held []net.Conn
	for i := range 3 {
		c := dialFrom(t, "127.0.0.2", addr)
		if !get(c) {
			t.Fatalf("connection %d of 127.0.0.2 was refused under the cap", i+1)
		}
		held = append(held, c)
	}
	if get(dialFrom(t, "127.0.0.2", addr)) {
		t.Error("a fourth connection of 127.0.0.2 was served over a cap of 3")
	}
	if !get(dialFrom(t, "127.0.0.3", addr)) {
		t.Error("127.0.0.3 was refused while 127.0.0.2 held its connections")
	}
	for range 5 {
		if !get(dialFrom(t, "127.0.0.4", addr)) {
			t.Fatal("an allowed address was capped")
		}
	}
	held[0].Close()
	time.Sleep(100 * time.Millisecond) // the server sees the close
	if !get(dialFrom(t, "127.0.0.2", addr)) {
		t.Error("a closed connection did not give its slot back")
	}
}

func TestParsePrefix(t *testing.T) {
	for in, want := range map[string]string{"10.1.2.3": "10.1.2.3/32", "10.1.2.3/8": "10.0.0.0/8", "::ffff:10.0.0.1": "10.0.0.1/32", "fd00::/64": "fd00::/64"} {
		got, err := ParsePrefix(in)
		if err != nil || got.String() != want {
			t.Errorf("ParsePrefix(%q) = %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := ParsePrefix("10.0.0.0/33"); err == nil {
		t.Error("10.0.0.0/33 parsed")
	}
}
