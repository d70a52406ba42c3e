package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/internal/testenv"
)

func TestRaiseFileLimit(t *testing.T) {
	var orig syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_NOFILE, &orig) })
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: orig.Max / 2, Max: orig.Max}); err != nil {
		t.Fatal(err)
	}
	got, err := raiseFileLimit()
	if err != nil {
		t.Fatal(err)
	}
	var now syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &now)
	if got != orig.Max || now.Cur != orig.Max {
		t.Errorf("soft limit after raising: returned %d, set %d; want the hard limit %d", got, now.Cur, orig.Max)
	}
}

// served reports whether a connection from the loopback address local to
// addr is answered: a root DSE read for LDAP, GET /healthz for the web.
// The connection is left open, holding its slot, until the test ends.
func served(t *testing.T, proto, local, addr string) bool {
	t.Helper()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, local, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if proto == "http" {
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	lc := ldap.NewConn(c, false)
	lc.Start()
	_, err = lc.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", nil, nil))
	return err == nil
}

// atrium serve caps the LDAP and web connections of one address as
// configured: 127.0.0.2 uses up its two while 127.0.0.3 is still served,
// and 127.0.0.4, on limits.allow, is not capped.
func TestConnectionsPerAddressConfigured(t *testing.T) {
	s := startServer(t, t.TempDir(), testEnv("ATRIUM_LDAP_MAX_CONNS_PER_ADDRESS=2", "ATRIUM_WEB_MAX_CONNS_PER_ADDRESS=2", "ATRIUM_LIMITS_ALLOW=127.0.0.4"), nil)
	for proto, addr := range map[string]string{"ldap": s.ldapAddr, "http": s.httpAddr} {
		for i := range 2 {
			if !served(t, proto, "127.0.0.2", addr) {
				t.Fatalf("%s: connection %d of 127.0.0.2 refused under the cap", proto, i+1)
			}
		}
		if served(t, proto, "127.0.0.2", addr) {
			t.Errorf("%s: a third connection of 127.0.0.2 was served over a cap of 2", proto)
		}
		if !served(t, proto, "127.0.0.3", addr) {
			t.Errorf("%s: 127.0.0.3 refused while 127.0.0.2 holds its connections", proto)
		}
		for range 3 {
			if !served(t, proto, "127.0.0.4", addr) {
				t.Errorf("%s: 127.0.0.4 is on limits.allow but was capped", proto)
			}
		}
	}
}

func TestLimitsConfigValidated(t *testing.T) {
	c := defaultConfig()
	c.LDAP.MaxConnsPerAddress = 0
	c.LDAP.WriteTimeout = 0
	c.Limits.Allow = []string{"10.0.0.0/8", "192.168.1.300", "fd00::/64"}
	got := strings.Join(c.Validate(), "\n")
	for _, want := range []string{"max_conns_per_address must be at least 1", `limits.allow: "192.168.1.300"`, "ldap.write_timeout"} {
		if !strings.Contains(got, want) {
			t.Errorf("Validate() = %q, want a problem containing %q", got, want)
		}
	}
	if strings.Contains(got, "10.0.0.0/8") || strings.Contains(got, "fd00::/64") {
		t.Errorf("Validate() refused a good allow entry: %q", got)
	}
	t.Setenv("ATRIUM_WEB_MAX_CONNS_PER_ADDRESS", "many")
	if _, err := loadConfig("", nil); err == nil || !strings.Contains(err.Error(), "ATRIUM_WEB_MAX_CONNS_PER_ADDRESS") {
		t.Errorf("a word for a number: %v", err)
	}
}

// atrium serve under a descriptor limit of 100 (soft and hard, so it
// cannot raise it) runs out with 150 LDAP and 50 web connections open,
// and after they close it still answers both, and never exited.
func TestServeSurvivesDescriptorExhaustion(t *testing.T) {
	prlimit := testenv.Tool(t, "prlimit", "util-linux")
	ldapAddr, httpAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	log := &testenv.Output{}
	cmd := exec.Command(prlimit, "--nofile=100:100", atriumBin, "serve", "--data", t.TempDir(),
		"--ldap-addr", ldapAddr, "--ldaps-addr", "", "--http-addr", httpAddr, "--external-url", "http://"+httpAddr)
	cmd.Env = testEnv()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	for !strings.Contains(log.String(), "atrium ready") {
		select {
		case <-exited:
			t.Fatalf("atrium serve exited at start (%v):\n%s", waitErr, log)
		case <-time.After(20 * time.Millisecond):
		}
	}
	var open []net.Conn
	for i := range 200 {
		addr, local := ldapAddr, net.IPv4(127, 0, 2, byte(1+i%4)) // four addresses, each under its cap
		if i >= 150 {
			addr, local = httpAddr, net.IPv4(127, 0, 2, 9)
		}
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: local}, Timeout: 2 * time.Second}
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial %s: %v", addr, err) // the kernel's backlog takes what atrium cannot accept
		}
		open = append(open, c)
	}
	time.Sleep(500 * time.Millisecond) // atrium accepts until it runs out
	for _, c := range open {
		c.Close()
	}
	select {
	case <-exited:
		t.Fatalf("atrium serve exited when it ran out of descriptors (%v):\n%s", waitErr, log)
	case <-time.After(500 * time.Millisecond):
	}
	for _, proto := range []string{"ldap", "http"} {
		addr := map[string]string{"ldap": ldapAddr, "http": httpAddr}[proto]
		if !served(t, proto, "127.0.0.1", addr) {
			t.Errorf("%s not answered after running out of descriptors:\n%s", proto, log)
		}
	}
	for _, want := range []string{"descriptor limit is below", "ldap accept failed"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}
