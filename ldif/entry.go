package ldif

// Entry is one LDIF content record: a DN and its attribute values in the
// order they were read or are to be written.
type Entry struct {
	DN    string
	Attrs []Attr
	// Comments are the comment lines of the record's paragraph, without the
	// leading "# ". Writing puts them before the dn line.
	Comments []string
	// Line is where the record starts in its file (1-based), for messages.
	Line int

	names []string // attribute names as Import compares them, see attrNames
}

// Attr is one attribute value. Type is the attribute description as
// written, options included ("cn;lang-de").
type Attr struct {
	Type  string
	Value string
}

// Add appends values of typ.
func (e *Entry) Add(typ string, values ...string) {
	for _, v := range values {
		e.Attrs = append(e.Attrs, Attr{Type: typ, Value: v})
	}
}
