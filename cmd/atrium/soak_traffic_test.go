//go:build soak

package main

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldap "github.com/go-ldap/ldap/v3"
)

// traffic is the ordinary requests of the soak, by name. Each is called
// with a growing count i, one at a time.
func (s *soak) traffic() map[string]func(i int) error {
	nslcd := []string{"uid", "userPassword", "uidNumber", "gidNumber", "cn", "homeDirectory", "loginShell", "gecos", "objectClass"}
	return map[string]func(int) error{
		"ldap bind": func(i int) error {
			c, err := s.dial(soakAddr(i), userDN(soakUID(i%soakUsers)), soakPassword+soakUID(i%soakUsers))
			if err == nil {
				c.Close()
			}
			return err
		},
		"ldap search": s.bound("nas", func(c *ldap.Conn, i int) error {
			filter := fmt.Sprintf("(&(objectClass=posixAccount)(uid=%s))", soakUID(i%soakUsers))
			res, err := c.Search(ldap.NewSearchRequest(baseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, nslcd, nil))
			if err == nil && len(res.Entries) != 1 {
				err = fmt.Errorf("%s found %d entries", filter, len(res.Entries))
			}
			return err
		}),
		"ldap paged": s.bound("nas", func(c *ldap.Conn, _ int) error {
			req := ldap.NewSearchRequest(baseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=posixAccount)", []string{"uid", "cn"}, nil)
			res, err := c.SearchWithPaging(req, 50)
			if err == nil && len(res.Entries) < soakUsers {
				err = fmt.Errorf("paged listing found %d users, want at least %d", len(res.Entries), soakUsers)
			}
			return err
		}),
		"ldap write": s.bound("writer", func(c *ldap.Conn, i int) error {
			mod := ldap.NewModifyRequest(userDN(soakUID(i%soakUsers)), nil)
			mod.Replace("displayName", []string{fmt.Sprintf("Soaked %d", i)})
			return c.Modify(mod)
		}),
		"web login": s.webLogin,
		"cli write": func(i int) error {
			uid := fmt.Sprintf("churn%05d", i)
			for _, args := range [][]string{{"user", "add", uid, "--mail", uid + "@example.com"}, {"group", "add-member", "soakers", uid}, {"user", "delete", uid}} {
				if _, err := s.cli("", args...); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// soakAddr spreads ordinary clients over 127.0.1.1 to 127.0.1.200, as
// the users of many machines.
func soakAddr(i int) string { return fmt.Sprintf("127.0.1.%d", 1+i%200) }

// bound runs fn on one LDAP connection from 127.0.0.1, bound as the nas
// or the writer bind account, opened again after a failure.
func (s *soak) bound(as string, fn func(c *ldap.Conn, i int) error) func(int) error {
	var c *ldap.Conn
	return func(i int) error {
		if c == nil {
			dn, pw := soakNAS, soakNASPW
			if as == "writer" {
				dn, pw = soakWriter, soakWrtPW
			}
			var err error
			if c, err = s.dial("127.0.0.1", dn, pw); err != nil {
				return err
			}
		}
		err := fn(c, i)
		if err != nil {
			c.Close()
			c = nil
		}
		return err
	}
}

// webLogin signs a user in through the login form, on a new connection.
func (s *soak) webLogin(i int) error {
	jar, _ := cookiejar.New(nil)
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(soakAddr(i))}}).DialContext}
	defer tr.CloseIdleConnections()
	c := &http.Client{Jar: jar, Transport: tr, Timeout: 20 * time.Second}
	base := "http://" + s.srv.httpAddr
	page, err := soakGet(c, base+"/login")
	if err != nil {
		return err
	}
	form := url.Values{}
	for _, m := range mfaHiddenRE.FindAllStringSubmatch(page, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	uid := soakUID(i % soakUsers)
	form.Set("username", uid)
	form.Set("password", soakPassword+uid)
	resp, err := c.PostForm(base+"/login", form)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`name="password"`)) {
		return fmt.Errorf("login of %s: status %d, still on the login form", uid, resp.StatusCode)
	}
	return nil
}

func soakGet(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: status %d", u, resp.StatusCode)
	}
	return string(body), err
}

// cli runs an atrium command, which goes through the admin socket.
func (s *soak) cli(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, atriumBin, append(args, "--data", s.data)...)
	cmd.Env, cmd.Stdin = s.env, strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("atrium %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// attacks are the soak's attackers; each returns when the soak ends.
func (s *soak) attacks() []func() {
	return []func(){s.declaredLengthFlood, func() { s.stalledReader("127.0.3.1") }, func() { s.stalledReader("127.0.3.2") }, s.connectionHog,
		func() { s.loginFlood("127.0.5.1") }, func() { s.loginFlood("127.0.5.2") }}
}

// hold opens n connections to addr from local, sends each first, and
// keeps them until d has passed or the soak ends.
func (s *soak) hold(name, local, addr string, n int, first []byte, d time.Duration) {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 2 * time.Second}
	var open []net.Conn
	for range n {
		c, err := dialer.Dial("tcp", addr)
		if err != nil {
			continue // refused or capped: what the attack is for
		}
		s.attack(name)
		c.Write(first)
		open = append(open, c)
	}
	s.sleep(d)
	for _, c := range open {
		c.Close()
	}
}

// sleep waits for d, or until the soak ends.
func (s *soak) sleep(d time.Duration) {
	if left := time.Until(s.until); left < d {
		d = left
	}
	time.Sleep(d)
}

// declaredLengthFlood holds connections from four addresses that each
// declare a 1 MiB message and send six bytes of it.
func (s *soak) declaredLengthFlood() {
	header := []byte{0x30, 0x83, 0x10, 0x00, 0x00, 0x02, 0x01, 0x01}
	for time.Now().Before(s.until) {
		var wg sync.WaitGroup
		for a := range 4 {
			wg.Go(func() {
				s.hold("declared-length", fmt.Sprintf("127.0.2.%d", a+1), s.srv.ldapAddr, 50, header, 3*time.Second)
			})
		}
		wg.Wait()
	}
}

// connectionHog opens more LDAP and web connections from one address
// than it may hold, and keeps them.
func (s *soak) connectionHog() {
	for time.Now().Before(s.until) {
		var wg sync.WaitGroup
		wg.Go(func() { s.hold("hog ldap", "127.0.4.1", s.srv.ldapAddr, 100, nil, 5*time.Second) })
		wg.Go(func() { s.hold("hog http", "127.0.4.1", s.srv.httpAddr, 300, nil, 5*time.Second) })
		wg.Wait()
	}
}

// stalledReader binds as the nas account with a small receive buffer,
// pipelines 200 searches of the whole tree and reads nothing, until the
// server drops it (ldap.write_timeout) or 40 s pass.
func (s *soak) stalledReader(local string) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 2 * time.Second,
		Control: func(_, _ string, rc syscall.RawConn) error {
			return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
		}}
	for time.Now().Before(s.until) {
		c, err := d.Dial("tcp", s.srv.ldapAddr)
		if err != nil {
			s.sleep(time.Second)
			continue
		}
		pipeline := soakBind(1, soakNAS, soakNASPW)
		for id := range 200 {
			pipeline = append(pipeline, soakSearchAll(int64(id+2))...)
		}
		s.attack("stalled reader")
		c.Write(pipeline)
		s.sleep(40 * time.Second)
		c.Close()
	}
}

// loginFlood asks for the login page, anonymously and without following
// its redirect, as fast as it is answered.
func (s *soak) loginFlood(local string) {
	tr := &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}}).DialContext}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for time.Now().Before(s.until) {
		if resp, err := c.Get("http://" + s.srv.httpAddr + "/login"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			s.attack(fmt.Sprintf("GET /login %d", resp.StatusCode))
		}
		time.Sleep(time.Millisecond)
	}
}

func soakMessage(id int64, op *ber.Packet) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	p.AppendChild(op)
	return p.Bytes()
}

func soakBind(id int64, dn, pw string) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationBindRequest, nil, "")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, ""))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, ""))
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, pw, ""))
	return soakMessage(id, op)
}

func soakSearchAll(id int64) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchRequest, nil, "")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, baseDN, ""))
	for _, v := range []int64{ldap.ScopeWholeSubtree, ldap.NeverDerefAliases} {
		op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, v, ""))
	}
	for range 2 { // no size or time limit
		op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, ""))
	}
	op.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))
	filter, _ := ldap.CompileFilter("(objectClass=*)")
	op.AppendChild(filter)
	op.AppendChild(ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, ""))
	return soakMessage(id, op)
}
