package ldapserver

import (
	"strings"
)

// tristate is a filter's result (RFC 4511 4.5.1.7): an assertion about an
// attribute the entry lacks, or a value that is not valid for the
// attribute's syntax, is Undefined rather than an error.
type tristate int8

const (
	isFalse tristate = iota
	isTrue
	isUndefined
)

func not(v tristate) tristate {
	switch v {
	case isTrue:
		return isFalse
	case isFalse:
		return isTrue
	}
	return isUndefined
}

// inChainRule is LDAP_MATCHING_RULE_IN_CHAIN: membership through nesting.
const inChainRule = "1.2.840.113556.1.4.1941"

// evaluator decides filters against entries. It resolves in-chain
// assertions through the directory, so it is made per search.
type evaluator struct {
	// chain answers whether the entry with this ID is, through nesting, a
	// member of (attr memberOf) or contains (attr member) the entry named
	// by the DN; it returns isUndefined when the DN is not Atrium's.
	chain func(e *entry, attr, dn string) tristate
	// member, when set, decides equalities on member, uniqueMember and
	// memberUid for group entries whose values are not built (entry.fill).
	member func(e *entry, attr, value string) tristate
}

func (ev *evaluator) eval(f *Filter, e *entry) tristate {
	switch f.Kind {
	case FilterAnd:
		out := isTrue
		for i := range f.Children {
			switch ev.eval(&f.Children[i], e) {
			case isFalse:
				return isFalse
			case isUndefined:
				out = isUndefined
			}
		}
		return out
	case FilterOr:
		out := isFalse
		for i := range f.Children {
			switch ev.eval(&f.Children[i], e) {
			case isTrue:
				return isTrue
			case isUndefined:
				out = isUndefined
			}
		}
		return out
	case FilterNot:
		if len(f.Children) != 1 {
			return isUndefined
		}
		return not(ev.eval(&f.Children[0], e))
	case FilterPresent:
		at := theSchema.lookup(f.Attr)
		if at == nil {
			return isFalse
		}
		if len(e.get(at.names[0])) > 0 {
			return isTrue
		}
		return isFalse
	case FilterExtensible:
		return ev.extensible(f, e)
	}
	at := theSchema.lookup(f.Attr)
	if at == nil {
		return isUndefined
	}
	if f.Kind == FilterEqual && e.members != nil && ev.member != nil && isMemberAttr(at.names[0]) {
		return ev.member(e, at.names[0], f.Value)
	}
	values := e.get(at.names[0])
	if len(values) == 0 {
		return isFalse
	}
	switch f.Kind {
	case FilterEqual:
		want, ok := normalise(at.match, f.Value)
		if !ok {
			return isUndefined
		}
		for _, v := range values {
			if got, ok := normalise(at.match, v); ok && got == want {
				return isTrue
			}
		}
		return isFalse
	case FilterSubstrings:
		if at.match == matchInteger || at.match == matchDN || at.match == matchTime {
			return isUndefined
		}
		for _, v := range values {
			if substringsMatch(at.match, v, f.Initial, f.Any, f.Final) {
				return isTrue
			}
		}
		return isFalse
	case FilterGreaterOrEqual, FilterLessOrEqual:
		if !at.ordered && at.match != matchCaseIgnore && at.match != matchCaseExact {
			return isUndefined
		}
		for _, v := range values {
			c, ok := compareValues(at.match, v, f.Value)
			if !ok {
				continue
			}
			if (f.Kind == FilterGreaterOrEqual && c >= 0) || (f.Kind == FilterLessOrEqual && c <= 0) {
				return isTrue
			}
		}
		return isFalse
	case FilterApprox:
		want := approxKey(f.Value)
		for _, v := range values {
			if approxKey(v) == want {
				return isTrue
			}
		}
		return isFalse
	}
	return isUndefined
}

// extensible handles (attr:rule:=value) and (attr:dn:=value).
func (ev *evaluator) extensible(f *Filter, e *entry) tristate {
	if f.Rule == inChainRule {
		at := theSchema.lookup(f.Attr)
		if at == nil || (at.names[0] != "memberOf" && at.names[0] != "member" && at.names[0] != "uniqueMember") {
			return isUndefined
		}
		return ev.chain(e, at.names[0], f.Value)
	}
	m := matchCaseIgnore
	if f.Rule != "" {
		var ok bool
		if m, ok = ruleMatching(f.Rule); !ok {
			return isUndefined
		}
	}
	var candidates []string
	if f.Attr != "" {
		at := theSchema.lookup(f.Attr)
		if at == nil {
			return isUndefined
		}
		if f.Rule == "" {
			m = at.match
		}
		candidates = e.get(at.names[0])
	} else {
		e.complete()
		for _, a := range e.attrs {
			candidates = append(candidates, a.values...)
		}
	}
	if f.DNAttributes {
		candidates = append(candidates, rdnValues(e.dn, f.Attr)...)
	}
	want, ok := normalise(m, f.Value)
	if !ok {
		return isUndefined
	}
	for _, v := range candidates {
		if got, ok := normalise(m, v); ok && got == want {
			return isTrue
		}
	}
	return isFalse
}

// rdnValues lists the values in dn's RDNs, of attr (all when attr is "").
func rdnValues(dn, attr string) []string {
	var out []string
	for _, rdn := range strings.Split(dn, ",") {
		typ, val, ok := strings.Cut(rdn, "=")
		if ok && (attr == "" || strings.EqualFold(typ, attr)) {
			out = append(out, val)
		}
	}
	return out
}

func ruleMatching(rule string) (matching, bool) {
	switch strings.ToLower(rule) {
	case "caseignorematch", "2.5.13.2", "caseignoreia5match", "1.3.6.1.4.1.1466.109.114.2":
		return matchCaseIgnore, true
	case "caseexactmatch", "2.5.13.5", "caseexactia5match", "1.3.6.1.4.1.1466.109.114.1":
		return matchCaseExact, true
	case "integermatch", "2.5.13.14":
		return matchInteger, true
	case "distinguishednamematch", "2.5.13.1":
		return matchDN, true
	case "octetstringmatch", "2.5.13.17":
		return matchOctets, true
	case "generalizedtimematch", "2.5.13.27":
		return matchTime, true
	}
	return 0, false
}
