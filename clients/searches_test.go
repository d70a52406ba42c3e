package clients_test

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/clients"
)

// TestGuidesAgainstServer sets up a live server as each LDAP guide says and
// sends every request the guide lists, over the guide's own address and
// TLS choice, bound as it says; each must find what the client needs. A
// paging client's searches also run in pages of two, so that paging
// really turns pages.
func TestGuidesAgainstServer(t *testing.T) {
	for _, name := range clients.Names() {
		t.Run(name, func(t *testing.T) {
			srv, guide := startServer(t, name)
			if guide.Kind != "ldap" {
				t.Skipf("%s is not an LDAP client; TestCloudflareAgainstAtrium checks it", name)
			}
			for _, q := range guide.Searches {
				sizes := []int{q.PageSize}
				if q.PageSize > 0 {
					sizes = append(sizes, 2)
				}
				for _, size := range sizes {
					q.PageSize = size
					if err := srv.run(guide, q); err != nil {
						t.Errorf("%q: %v", q.Name, err)
					}
				}
			}
		})
	}
}

// run connects as the guide says, binds as q says, and sends q.
func (s *server) run(g clients.Rendered, q clients.Search) error {
	c, err := s.dial(g)
	if err != nil {
		return err
	}
	defer c.Close()
	switch q.Bind {
	case clients.BindService:
		err = c.Bind(g.BindDN, s.bindSecret)
	case clients.BindUser:
		err = c.Bind(g.UserDN, s.settings.User+"-password")
	}
	if err != nil {
		return fmt.Errorf("bind: %w", err)
	}
	if q.Filter == "" {
		return nil
	}
	entries, err := search(c, q)
	if err != nil {
		return err
	}
	return check(q.Expect, entries)
}

func (s *server) dial(g clients.Rendered) (*ldap.Conn, error) {
	cfg := &tls.Config{RootCAs: s.roots, ServerName: g.Host, MinVersion: tls.VersionTLS12}
	if g.TLS == clients.TLSLDAPS {
		return ldap.DialURL(g.URI, ldap.DialWithTLSConfig(cfg))
	}
	c, err := ldap.DialURL(g.URI)
	if err != nil {
		return nil, err
	}
	if err := c.StartTLS(cfg); err != nil {
		c.Close()
		return nil, fmt.Errorf("starttls: %w", err)
	}
	return c, nil
}

var scopes = map[string]int{"base": ldap.ScopeBaseObject, "one": ldap.ScopeSingleLevel, "sub": ldap.ScopeWholeSubtree}

// search sends q, turning pages the way a paging client does: each
// response must carry the paging control, and an empty cookie ends it.
func search(c *ldap.Conn, q clients.Search) ([]*ldap.Entry, error) {
	req := ldap.NewSearchRequest(q.Base, scopes[q.Scope], ldap.NeverDerefAliases, 0, 0, false, q.Filter, q.Attributes, nil)
	if q.PageSize == 0 {
		res, err := c.Search(req)
		if err != nil {
			return nil, err
		}
		return res.Entries, nil
	}
	paging := ldap.NewControlPaging(uint32(q.PageSize))
	var entries []*ldap.Entry
	for range 1000 {
		req.Controls = []ldap.Control{paging}
		res, err := c.Search(req)
		if err != nil {
			return nil, err
		}
		entries = append(entries, res.Entries...)
		got, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok {
			return nil, fmt.Errorf("page of %d: the response has no paging control", q.PageSize)
		}
		if len(got.Cookie) == 0 {
			return entries, nil
		}
		paging.SetCookie(got.Cookie)
	}
	return nil, fmt.Errorf("paging by %d never ended", q.PageSize)
}

func check(e clients.Expect, entries []*ldap.Entry) error {
	var dns []string
	for _, en := range entries {
		dns = append(dns, en.DN)
	}
	for _, dn := range e.DNs {
		if !slices.Contains(dns, dn) {
			return fmt.Errorf("%q not found among %q", dn, dns)
		}
	}
	if e.Exact && len(dns) != len(e.DNs) {
		return fmt.Errorf("found %q, want exactly %q", dns, e.DNs)
	}
	if len(dns) < e.Min {
		return fmt.Errorf("found %d entries, want at least %d", len(dns), e.Min)
	}
	for _, en := range entries {
		for _, a := range e.Present {
			if len(values(en, a)) == 0 {
				return fmt.Errorf("%s lacks %s", en.DN, a)
			}
		}
	}
	if len(e.Values) == 0 {
		return nil
	}
	if len(entries) == 0 {
		return fmt.Errorf("no entry to check %v on", e.Values)
	}
	first := entries[0]
	if len(e.DNs) > 0 {
		first = entries[slices.Index(dns, e.DNs[0])]
	}
	for a, want := range e.Values {
		got := values(first, a)
		for _, w := range want {
			if !slices.Contains(got, w) {
				return fmt.Errorf("%s: %s is %q, lacks %q", first.DN, a, got, w)
			}
		}
	}
	return nil
}

// values reads an attribute whatever the spelling the server echoed;
// strict clients are checked for spelling separately.
func values(e *ldap.Entry, name string) []string {
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, name) {
			return a.Values
		}
	}
	return nil
}
