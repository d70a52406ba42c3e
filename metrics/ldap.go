package metrics

import (
	"strings"

	ldap "github.com/go-ldap/ldap/v3"
)

// ldapOps are the operation label values; anything else is "other".
var ldapOps = map[string]bool{
	"bind": true, "search": true, "compare": true, "modify": true, "add": true,
	"delete": true, "moddn": true, "extended": true,
}

// resultNames are the result label values: RFC 4511's names in snake case
// ("invalid_credentials"); a code not in the RFCs is "other".
var resultNames = func() map[uint16]string {
	out := map[uint16]string{}
	for code, name := range ldap.LDAPResultCodeMap {
		out[code] = strings.ReplaceAll(strings.ToLower(name), " ", "_")
	}
	return out
}()

// LDAPOp starts timing one LDAP operation named op (bind, search, ...);
// the function it returns records the operation with its result code when
// the final response is ready.
func (m *Metrics) LDAPOp(op string) func(code uint16) {
	if m == nil {
		return func(uint16) {}
	}
	if !ldapOps[op] {
		op = "other"
	}
	start := m.now()
	return func(code uint16) {
		result, ok := resultNames[code]
		if !ok {
			result = "other"
		}
		m.ldapOps.WithLabelValues(op, result).Inc()
		m.ldapLatency.WithLabelValues(op).Observe(m.now().Sub(start).Seconds())
	}
}

// LDAPConnOpened counts a connection the server admitted; LDAPConnClosed
// counts it out again.
func (m *Metrics) LDAPConnOpened() {
	if m != nil {
		m.ldapConns.Inc()
	}
}

// LDAPConnClosed counts out a connection LDAPConnOpened counted.
func (m *Metrics) LDAPConnClosed() {
	if m != nil {
		m.ldapConns.Dec()
	}
}

// LDAPRefused counts a connection turned away: reason is "busy" (the
// server is full) or "per_address" (its address holds its share).
func (m *Metrics) LDAPRefused(reason string) {
	if m == nil {
		return
	}
	if reason != "busy" && reason != "per_address" {
		reason = "other"
	}
	m.ldapRefused.WithLabelValues(reason).Inc()
}
