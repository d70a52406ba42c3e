package ldif

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
)

// Layout is the shape of Atrium's tree under one base DN:
//
//	<base>
//	├── ou=people    uid=<uid>   users
//	├── ou=groups    cn=<cn>     groups
//	└── ou=services  cn=<name>   bind accounts
//
// Its methods spell every DN one canonical way: lower-case attribute types,
// no spaces after commas, values escaped as RFC 4514 requires. Build it with
// NewLayout; a literal Layout must hold a base already in that form.
type Layout struct {
	Base string
}

// NewLayout checks base and brings it to canonical spelling, keeping the
// case of its values ("DC=Example, DC=com" becomes "dc=Example,dc=com").
func NewLayout(base string) (Layout, error) {
	dn, err := CanonicalDN(base)
	if err != nil {
		return Layout{}, fmt.Errorf("base DN: %w", err)
	}
	if dn == "" {
		return Layout{}, fmt.Errorf("base DN: must not be empty")
	}
	return Layout{Base: dn}, nil
}

// PeopleDN is the parent of every user.
func (l Layout) PeopleDN() string { return "ou=people," + l.Base }

// GroupsDN is the parent of every group.
func (l Layout) GroupsDN() string { return "ou=groups," + l.Base }

// ServicesDN is the parent of every bind account.
func (l Layout) ServicesDN() string { return "ou=services," + l.Base }

// UserDN is the DN of the user with this uid.
func (l Layout) UserDN(uid string) string { return "uid=" + EscapeDNValue(uid) + "," + l.PeopleDN() }

// GroupDN is the DN of the group with this cn.
func (l Layout) GroupDN(cn string) string { return "cn=" + EscapeDNValue(cn) + "," + l.GroupsDN() }

// BindAccountDN is the DN of the bind account with this name.
func (l Layout) BindAccountDN(name string) string {
	return "cn=" + EscapeDNValue(name) + "," + l.ServicesDN()
}

// CanonicalDN parses dn (RFC 4514) and spells it the canonical way: types
// in lower case, values as given but escaped minimally, the attributes of a
// multi-valued RDN sorted. Two spellings of one DN differ afterwards only in
// the case of their values.
func CanonicalDN(dn string) (string, error) {
	parsed, err := ldap.ParseDN(dn)
	if err != nil {
		return "", fmt.Errorf("DN %q: %w", dn, err)
	}
	rdns := make([]string, len(parsed.RDNs))
	for i, rdn := range parsed.RDNs {
		avas := make([]string, len(rdn.Attributes))
		for j, a := range rdn.Attributes {
			typ := strings.ToLower(a.Type)
			if !validAttrType(typ) {
				return "", fmt.Errorf("DN %q: attribute type %q is not a name or OID", dn, a.Type)
			}
			avas[j] = typ + "=" + EscapeDNValue(a.Value)
		}
		slices.Sort(avas)
		rdns[i] = strings.Join(avas, "+")
	}
	return strings.Join(rdns, ","), nil
}

// dnKey is the form in which two DNs compare equal: canonical, with values
// folded to lower case. Every naming attribute Atrium meets (uid, cn, ou, dc,
// o) matches without regard to case.
func dnKey(dn string) (string, error) {
	if plainDN(dn) {
		return strings.ToLower(dn), nil // what parsing would give, for a fraction of its cost
	}
	c, err := CanonicalDN(dn)
	return strings.ToLower(c), err
}

// plainDN reports whether dn is already canonical but for case: single
// type=value RDNs joined by commas, named types, and values of printable
// ASCII that need no escape and have no space at either end. Nearly every
// DN of an export is.
func plainDN(dn string) bool {
	for i := 0; ; {
		eq := strings.IndexByte(dn[i:], '=')
		if eq < 0 || !isKeyword(dn[i:i+eq]) {
			return false
		}
		start := i + eq + 1
		end := start
		for end < len(dn) && dn[end] != ',' {
			if c := dn[end]; c < 0x20 || c > 0x7e || strings.IndexByte(`"+;<>\=`, c) >= 0 {
				return false
			}
			end++
		}
		v := dn[start:end]
		if v == "" || v[0] == ' ' || v[0] == '#' || v[len(v)-1] == ' ' {
			return false
		}
		if end == len(dn) {
			return true
		}
		i = end + 1
	}
}

// EscapeDNValue escapes an attribute value for use in a DN (RFC 4514 section
// 2.4): the characters that must be escaped are, a leading space or '#' and a
// trailing space; control characters and invalid UTF-8 are written as \XX
// so a DN is always one printable line.
func EscapeDNValue(v string) string {
	if !needsEscape(v) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		c := v[i]
		switch {
		case r == utf8.RuneError && size <= 1, c < 0x20, c == 0x7f:
			fmt.Fprintf(&b, `\%02x`, c)
		case c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' || c == '\\',
			i == 0 && (c == ' ' || c == '#'),
			i == len(v)-1 && c == ' ':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteString(v[i : i+size])
		}
		i += size
	}
	return b.String()
}

// needsEscape reports whether EscapeDNValue would change v.
func needsEscape(v string) bool {
	if v == "" {
		return false
	}
	if v[0] == ' ' || v[0] == '#' || v[len(v)-1] == ' ' {
		return true
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f || strings.IndexByte(`"+,;<>\`, c) >= 0 {
			return true
		}
	}
	return false
}

// validAttrType reports whether s is a descr (keystring) or numeric OID
// (RFC 4512 section 1.4), already in lower case.
func validAttrType(s string) bool {
	if s == "" {
		return false
	}
	if s[0] >= '0' && s[0] <= '9' {
		for _, part := range strings.Split(s, ".") {
			if part == "" || strings.Trim(part, "0123456789") != "" || (len(part) > 1 && part[0] == '0') {
				return false
			}
		}
		return true
	}
	if s[0] < 'a' || s[0] > 'z' {
		return false
	}
	return strings.Trim(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == ""
}
