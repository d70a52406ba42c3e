package connlimit

import (
	"net"
	"net/netip"
	"sync"
)

// PerAddress counts open connections by client address. Its zero value
// caps nothing; set Max before first use and do not change it after.
type PerAddress struct {
	// Max is the most connections one address may hold; 0 means no cap.
	Max int
	// Allow lists addresses exempt from the cap, such as a reverse proxy
	// that carries every user's connections.
	Allow []netip.Prefix

	mu   sync.Mutex
	open map[netip.Addr]int
}

// Acquire counts a connection from remote. It reports false, counting
// nothing, when remote already holds Max connections. Otherwise the
// caller must call release once, when the connection closes.
func (p *PerAddress) Acquire(remote net.Addr) (release func(), ok bool) {
	addr, capped := p.key(remote)
	if !capped {
		return func() {}, true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open[addr] >= p.Max {
		return nil, false
	}
	if p.open == nil {
		p.open = map[netip.Addr]int{}
	}
	p.open[addr]++
	return sync.OnceFunc(func() { p.releaseAddr(addr) }), true
}

// key is the address remote is counted under, and whether it is capped.
func (p *PerAddress) key(remote net.Addr) (netip.Addr, bool) {
	tcp, isTCP := remote.(*net.TCPAddr)
	if p.Max <= 0 || !isTCP {
		return netip.Addr{}, false
	}
	addr, valid := netip.AddrFromSlice(tcp.IP)
	if !valid {
		return netip.Addr{}, false
	}
	addr = addr.Unmap()
	for _, pfx := range p.Allow {
		if pfx.Contains(addr) {
			return addr, false
		}
	}
	return addr, true
}

func (p *PerAddress) releaseAddr(addr netip.Addr) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.open[addr]--; p.open[addr] <= 0 {
		delete(p.open, addr)
	}
}

// Listener returns ln with connections over the cap closed as soon as
// they are accepted; a server on it never sees them.
func (p *PerAddress) Listener(ln net.Listener) net.Listener {
	return &listener{Listener: ln, limit: p}
}

type listener struct {
	net.Listener
	limit *PerAddress
}

func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if release, ok := l.limit.Acquire(c.RemoteAddr()); ok {
			return &conn{Conn: c, release: release}, nil
		}
		c.Close()
	}
}

// conn gives its address's slot back when it closes.
type conn struct {
	net.Conn
	release func()
}

func (c *conn) Close() error {
	c.release()
	return c.Conn.Close()
}

// CloseWrite keeps the half-close net/http uses to end a connection
// cleanly after an error response.
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ParsePrefix reads an allow-list entry: a CIDR block or one address.
func ParsePrefix(s string) (netip.Prefix, error) {
	if addr, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()), nil
	}
	pfx, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return pfx.Masked(), nil
}
