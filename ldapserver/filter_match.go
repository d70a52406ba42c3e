package ldapserver

import (
	"math/big"
	"strings"
	"unicode"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/ldif"
)

// Value matching by each attribute's rules. Every function here answers for
// one stored value against one assertion value; the caller turns "no
// attribute" and "unknown attribute" into Undefined.

// normalise returns the form of v that equality compares, for rule m.
// ok is false when v is not a valid value of the syntax (for example a
// non-number asserted against uidNumber), which makes the match Undefined.
func normalise(m matching, v string) (string, bool) {
	switch m {
	case matchCaseIgnore:
		return foldSpaces(strings.ToLower(v)), true
	case matchCaseExact:
		return foldSpaces(v), true
	case matchInteger:
		n, ok := new(big.Int).SetString(strings.TrimSpace(v), 10)
		if !ok {
			return "", false
		}
		return n.String(), true
	case matchDN:
		return normaliseDN(v)
	case matchTime:
		t, err := ldif.ParseGeneralizedTime(v)
		if err != nil {
			return "", false
		}
		return t.UTC().Format("20060102150405.000000000Z"), true
	case matchBoolean:
		switch strings.ToUpper(strings.TrimSpace(v)) {
		case "TRUE":
			return "TRUE", true
		case "FALSE":
			return "FALSE", true
		}
		return "", false
	}
	return v, true
}

// foldSpaces applies the insignificant-space rule: trim, and collapse inner
// runs of spaces to one.
func foldSpaces(s string) string {
	if !strings.Contains(s, "  ") && strings.TrimSpace(s) == s {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}

// normaliseDN returns the comparison form of a DN: attribute types and
// values lower-cased, spaces and escaping canonical. ok is false for a
// string that is not a DN.
func normaliseDN(s string) (string, bool) {
	if s == "" {
		return "", true
	}
	dn, err := ldap.ParseDN(s)
	if err != nil {
		return "", false
	}
	var b strings.Builder
	for i, rdn := range dn.RDNs {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, a := range rdn.Attributes {
			if j > 0 {
				b.WriteByte('+')
			}
			typ := strings.ToLower(a.Type)
			if at := theSchema.lookup(typ); at != nil {
				typ = strings.ToLower(at.names[0])
			}
			b.WriteString(typ)
			b.WriteByte('=')
			b.WriteString(ldif.EscapeDNValue(foldSpaces(strings.ToLower(a.Value))))
		}
	}
	return b.String(), true
}

// compareValues orders two values under rule m: -1, 0 or 1. ok is false
// when either is not a valid value.
func compareValues(m matching, a, b string) (int, bool) {
	switch m {
	case matchInteger:
		x, ok1 := new(big.Int).SetString(strings.TrimSpace(a), 10)
		y, ok2 := new(big.Int).SetString(strings.TrimSpace(b), 10)
		if !ok1 || !ok2 {
			return 0, false
		}
		return x.Cmp(y), true
	case matchTime:
		x, err1 := ldif.ParseGeneralizedTime(a)
		y, err2 := ldif.ParseGeneralizedTime(b)
		if err1 != nil || err2 != nil {
			return 0, false
		}
		return x.Compare(y), true
	}
	x, ok1 := normalise(m, a)
	y, ok2 := normalise(m, b)
	if !ok1 || !ok2 {
		return 0, false
	}
	return strings.Compare(x, y), true
}

// substringsMatch reports whether v matches initial*any*...*final, under
// case folding when the rule ignores case.
func substringsMatch(m matching, v, initial string, any []string, final string) bool {
	prep := func(s string) string {
		if m == matchCaseIgnore {
			return foldSpaces(strings.ToLower(s))
		}
		return s
	}
	v = prep(v)
	if initial != "" {
		initial = prep(initial)
		if !strings.HasPrefix(v, initial) {
			return false
		}
		v = v[len(initial):]
	}
	for _, a := range any {
		a = prep(a)
		i := strings.Index(v, a)
		if i < 0 {
			return false
		}
		v = v[i+len(a):]
	}
	if final != "" {
		return strings.HasSuffix(v, prep(final))
	}
	return true
}

// approxKey is what approximate matching compares: letters and digits
// only, lower-cased.
func approxKey(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return unicode.ToLower(r)
		}
		return -1
	}, s)
}
