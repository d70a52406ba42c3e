package clients

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
)

// ServerSettings derives Settings from Atrium's own configuration (base_dn,
// ldap_addr, ldaps_addr, external_url): devices reach Atrium at the
// external URL's host, which its generated TLS certificate covers, on the
// ports it listens on. The example user and group are alice and staff.
func ServerSettings(baseDN, ldapAddr, ldapsAddr, externalURL string) (Settings, error) {
	u, err := url.Parse(externalURL)
	if err != nil || u.Hostname() == "" {
		return Settings{}, fmt.Errorf("external URL %q has no host", externalURL)
	}
	s := DefaultSettings()
	s.BaseDN, s.Host, s.ExternalURL = baseDN, u.Hostname(), externalURL
	if s.LDAPPort, err = listenPort(ldapAddr); err != nil {
		return Settings{}, err
	}
	if s.LDAPSPort, err = listenPort(ldapsAddr); err != nil {
		return Settings{}, err
	}
	return s, nil
}

func listenPort(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, fmt.Errorf("listen address %q: %w", addr, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n <= 0 || n > 65535 {
		return 0, fmt.Errorf("listen address %q has no port", addr)
	}
	return n, nil
}
