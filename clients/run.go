package clients

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"

	ldap "github.com/go-ldap/ldap/v3"
)

// Secrets are what running a guide's requests needs besides the guide:
// the passwords the client would send, and the trust the client has in
// Atrium's certificate.
type Secrets struct {
	BindPassword string // the client's bind account
	UserPassword string // Settings.User's
	TLS          *tls.Config
}

// Result is the outcome of one of a guide's requests.
type Result struct {
	Search  Search
	Entries []string // DNs found
	Err     error    // nil when the client would get what it needs
}

// Run sends every request of an LDAP guide to the server the guide was
// rendered for, over its address and TLS choice, bound as each request
// says, and checks each answer against what the client needs. This is
// what the tests, and a console's Test button, run.
func Run(g Rendered, s Secrets) []Result {
	var out []Result
	for _, q := range g.Searches {
		dns, err := runOne(g, q, s)
		out = append(out, Result{Search: q, Entries: dns, Err: err})
	}
	return out
}

func runOne(g Rendered, q Search, s Secrets) ([]string, error) {
	c, err := dial(g, s.TLS)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	switch q.Bind {
	case BindService:
		err = c.Bind(g.BindDN, s.BindPassword)
	case BindUser:
		err = c.Bind(g.UserDN, s.UserPassword)
	}
	if err != nil {
		return nil, fmt.Errorf("bind: %w", err)
	}
	if q.Filter == "" {
		return nil, nil
	}
	entries, err := search(c, q)
	if err != nil {
		return nil, err
	}
	var dns []string
	for _, e := range entries {
		dns = append(dns, e.DN)
	}
	return dns, check(q.Expect, entries)
}

func dial(g Rendered, cfg *tls.Config) (*ldap.Conn, error) {
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg = cfg.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = g.Host
	}
	if g.TLS == TLSLDAPS {
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
func search(c *ldap.Conn, q Search) ([]*ldap.Entry, error) {
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
	for range 100000 {
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

// check compares entries with e; the error says what the client lacks.
func check(e Expect, entries []*ldap.Entry) error {
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
			if len(values(en, a, e.Spelling)) == 0 {
				return fmt.Errorf("%s lacks %s", en.DN, a)
			}
		}
	}
	return checkValues(e, entries, dns)
}

func checkValues(e Expect, entries []*ldap.Entry, dns []string) error {
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
	for _, a := range sortedKeys(e.Values) {
		got := values(first, a, e.Spelling)
		for _, w := range e.Values[a] {
			if !slices.Contains(got, w) {
				return fmt.Errorf("%s: %s is %q, lacks %q", first.DN, a, got, w)
			}
		}
	}
	return nil
}

// values reads an attribute, spelled exactly as name or in any case.
func values(e *ldap.Entry, name string, exact bool) []string {
	for _, a := range e.Attributes {
		if a.Name == name || !exact && strings.EqualFold(a.Name, name) {
			return a.Values
		}
	}
	return nil
}
