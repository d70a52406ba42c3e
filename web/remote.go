package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// RemoteAddr is the client's IP address, without the port: the address
// TrustProxies found in the forwarding headers of a trusted proxy, else
// the connection's.
func RemoteAddr(r *http.Request) string {
	if a, ok := r.Context().Value(clientKey{}).(netip.Addr); ok {
		return a.String()
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

type clientKey struct{}

// maxHops bounds how far back X-Forwarded-For is read; real chains have a
// few proxies.
const maxHops = 16

// TrustProxies returns next with the client address of each request that
// comes from one of proxies (a reverse proxy, cloudflared) taken from the
// headers it forwards, for the backoff and the audit log (RemoteAddr):
//   - X-Forwarded-For: read from the right, the first address that is not
//     itself a trusted proxy, since each proxy appends the address it saw
//     and only the part trusted proxies wrote can be believed;
//   - otherwise Cloudflare's CF-Connecting-IP.
//
// A request from any other address keeps its connection's address, so a
// client cannot choose its own by sending the headers. With no proxies,
// next is returned as it is.
func TrustProxies(next http.Handler, proxies []netip.Prefix) http.Handler {
	if len(proxies) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if addr, ok := forwardedClient(r, proxies); ok {
			r = r.WithContext(context.WithValue(r.Context(), clientKey{}, addr))
		}
		next.ServeHTTP(w, r)
	})
}

// forwardedClient is the client address a trusted proxy forwarded with r.
func forwardedClient(r *http.Request, proxies []netip.Prefix) (netip.Addr, bool) {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil || !trusted(peer.Addr().Unmap(), proxies) {
		return netip.Addr{}, false
	}
	if addr, ok := fromForwardedFor(r.Header.Values("X-Forwarded-For"), proxies); ok {
		return addr, true
	}
	addr, err := parseHop(r.Header.Get("CF-Connecting-IP"))
	return addr, err == nil
}

// fromForwardedFor walks the X-Forwarded-For hops from the right and
// returns the first untrusted one; when every hop is trusted, or one is
// unreadable, the last good hop (itself a trusted proxy) stands.
func fromForwardedFor(headers []string, proxies []netip.Prefix) (netip.Addr, bool) {
	var found netip.Addr
	hops := 0
	for i := len(headers) - 1; i >= 0; i-- {
		rest := headers[i]
		for rest != "" {
			var hop string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				rest, hop = rest[:j], rest[j+1:]
			} else {
				rest, hop = "", rest
			}
			if strings.TrimSpace(hop) == "" {
				continue
			}
			addr, err := parseHop(hop)
			if hops++; err != nil || hops > maxHops {
				return found, found.IsValid()
			}
			found = addr
			if !trusted(addr, proxies) {
				return found, true
			}
		}
	}
	return found, found.IsValid()
}

// parseHop reads one forwarded address: an IP, with or without a port.
func parseHop(s string) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), nil
	}
	addr, err := netip.ParseAddr(s)
	return addr.Unmap(), err
}

func trusted(addr netip.Addr, proxies []netip.Prefix) bool {
	for _, p := range proxies {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
