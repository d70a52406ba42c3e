package ldapserver

import (
	"fmt"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldap "github.com/go-ldap/ldap/v3"
)

// FilterKind is the choice of an LDAP filter (RFC 4511 4.5.1).
type FilterKind int

const (
	FilterAnd FilterKind = iota
	FilterOr
	FilterNot
	FilterEqual
	FilterSubstrings
	FilterGreaterOrEqual
	FilterLessOrEqual
	FilterPresent
	FilterApprox
	FilterExtensible
)

// Filter is a decoded search filter.
type Filter struct {
	Kind     FilterKind
	Children []Filter // And, Or; Not has one
	Attr     string
	Value    string // assertion value
	// Substrings
	Initial, Final string
	Any            []string
	// Extensible match
	Rule         string
	DNAttributes bool
}

// maxFilterDepth bounds nesting; deeper filters are a protocol error.
const maxFilterDepth = 64

// decodeFilter turns the BER of a filter into a Filter.
func decodeFilter(p *ber.Packet) (*Filter, error) {
	f := &Filter{}
	if err := decodeFilterInto(f, p, 0); err != nil {
		return nil, err
	}
	return f, nil
}

// decodeFilterInto decodes p into f, and its children into f.Children
// in place.
func decodeFilterInto(f *Filter, p *ber.Packet, depth int) error {
	if depth > maxFilterDepth {
		return fmt.Errorf("filter nested deeper than %d", maxFilterDepth)
	}
	if p.ClassType != ber.ClassContext {
		return fmt.Errorf("filter: unexpected class %d", p.ClassType)
	}
	ava := func() error {
		if len(p.Children) != 2 {
			return fmt.Errorf("filter: attribute value assertion needs two parts")
		}
		f.Attr, f.Value = str(p.Children[0]), str(p.Children[1])
		return nil
	}
	switch p.Tag {
	case ldap.FilterAnd, ldap.FilterOr:
		f.Kind = FilterAnd
		if p.Tag == ldap.FilterOr {
			f.Kind = FilterOr
		}
		f.Children = make([]Filter, len(p.Children))
		for i, c := range p.Children {
			if err := decodeFilterInto(&f.Children[i], c, depth+1); err != nil {
				return err
			}
		}
	case ldap.FilterNot:
		if len(p.Children) != 1 {
			return fmt.Errorf("filter: not needs one filter")
		}
		f.Kind, f.Children = FilterNot, make([]Filter, 1)
		if err := decodeFilterInto(&f.Children[0], p.Children[0], depth+1); err != nil {
			return err
		}
	case ldap.FilterEqualityMatch:
		f.Kind = FilterEqual
		return ava()
	case ldap.FilterGreaterOrEqual:
		f.Kind = FilterGreaterOrEqual
		return ava()
	case ldap.FilterLessOrEqual:
		f.Kind = FilterLessOrEqual
		return ava()
	case ldap.FilterApproxMatch:
		f.Kind = FilterApprox
		return ava()
	case ldap.FilterPresent:
		f.Kind, f.Attr = FilterPresent, str(p)
	case ldap.FilterSubstrings:
		return decodeSubstrings(f, p)
	case ldap.FilterExtensibleMatch:
		decodeExtensible(f, p)
	default:
		return fmt.Errorf("filter: unknown choice %d", p.Tag)
	}
	return nil
}

// String spells f in RFC 4515 form, for logs and paging state.
func (f *Filter) String() string {
	var b strings.Builder
	f.write(&b)
	return b.String()
}

func (f *Filter) write(b *strings.Builder) {
	esc := ldap.EscapeFilter
	b.WriteByte('(')
	switch f.Kind {
	case FilterAnd, FilterOr, FilterNot:
		b.WriteByte("&|!"[f.Kind])
		for i := range f.Children {
			f.Children[i].write(b)
		}
	case FilterEqual:
		b.WriteString(f.Attr + "=" + esc(f.Value))
	case FilterGreaterOrEqual:
		b.WriteString(f.Attr + ">=" + esc(f.Value))
	case FilterLessOrEqual:
		b.WriteString(f.Attr + "<=" + esc(f.Value))
	case FilterApprox:
		b.WriteString(f.Attr + "~=" + esc(f.Value))
	case FilterPresent:
		b.WriteString(f.Attr + "=*")
	case FilterSubstrings:
		b.WriteString(f.Attr + "=" + esc(f.Initial) + "*")
		for _, a := range f.Any {
			b.WriteString(esc(a) + "*")
		}
		b.WriteString(esc(f.Final))
	case FilterExtensible:
		b.WriteString(f.Attr)
		if f.DNAttributes {
			b.WriteString(":dn")
		}
		if f.Rule != "" {
			b.WriteString(":" + f.Rule)
		}
		b.WriteString(":=" + esc(f.Value))
	}
	b.WriteByte(')')
}

func decodeSubstrings(f *Filter, p *ber.Packet) error {
	if len(p.Children) != 2 || len(p.Children[1].Children) == 0 {
		return fmt.Errorf("filter: malformed substrings")
	}
	f.Kind, f.Attr = FilterSubstrings, str(p.Children[0])
	for i, c := range p.Children[1].Children {
		switch c.Tag {
		case ldap.FilterSubstringsInitial:
			if i != 0 {
				return fmt.Errorf("filter: initial substring not first")
			}
			f.Initial = str(c)
		case ldap.FilterSubstringsAny:
			f.Any = append(f.Any, str(c))
		case ldap.FilterSubstringsFinal:
			f.Final = str(c)
		default:
			return fmt.Errorf("filter: unknown substring tag %d", c.Tag)
		}
	}
	return nil
}

func decodeExtensible(f *Filter, p *ber.Packet) {
	f.Kind = FilterExtensible
	for _, c := range p.Children {
		switch c.Tag {
		case 1:
			f.Rule = str(c)
		case 2:
			f.Attr = str(c)
		case 3:
			f.Value = str(c)
		case 4:
			v := c.Data.Bytes()
			f.DNAttributes = len(v) > 0 && v[0] != 0
		}
	}
}
