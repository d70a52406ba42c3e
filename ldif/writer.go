package ldif

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// lineWidth is where the writer folds lines, as slapcat does.
const lineWidth = 76

// Writer writes LDIF content records. It writes no "version: 1" line:
// slapadd (OpenLDAP 2.5) reads one as an entry and fails.
type Writer struct {
	w       *bufio.Writer
	wrote   bool // something is already written, so the next paragraph needs a blank line first
	err     error
	names   map[string]bool // attribute descriptions already checked: an export repeats a dozen
	scratch []byte          // the line being written, reused
}

// NewWriter writes LDIF to w. Call Flush at the end.
func NewWriter(w io.Writer) *Writer { return &Writer{w: bufio.NewWriterSize(w, 64<<10)} }

// Comment writes a paragraph of comment lines.
func (w *Writer) Comment(text string) error {
	w.separate()
	for _, line := range strings.Split(text, "\n") {
		w.line([]byte("# " + line))
	}
	return w.err
}

// Write writes one record: its comments, its dn and its attributes, with
// values that are not safe as plain text (RFC 2849 SAFE-STRING, and no
// control characters or trailing space) in base64.
func (w *Writer) Write(e Entry) error {
	if !utf8.ValidString(e.DN) {
		return fmt.Errorf("write entry: DN %q is not valid UTF-8", e.DN)
	}
	if w.names == nil {
		w.names = map[string]bool{}
	}
	for _, a := range e.Attrs {
		if w.names[a.Type] {
			continue
		}
		if !validAttrDescription(a.Type) {
			return fmt.Errorf("write %s: %q is not an attribute name", e.DN, a.Type)
		}
		w.names[a.Type] = true
	}
	if err := w.begin(e.DN, e.Comments); err != nil {
		return err
	}
	for _, a := range e.Attrs {
		w.attr(a.Type, a.Value)
	}
	return w.err
}

// begin starts a record: its comments and its dn line. The attribute
// lines follow with attr or add.
func (w *Writer) begin(dn string, comments []string) error {
	if !utf8.ValidString(dn) {
		return fmt.Errorf("write entry: DN %q is not valid UTF-8", dn)
	}
	w.separate()
	for _, c := range comments {
		for _, line := range strings.Split(c, "\n") {
			w.scratch = append(append(w.scratch[:0], "# "...), line...)
			w.line(w.scratch)
		}
	}
	w.attr("dn", dn)
	return w.err
}

// add writes one attribute line per value: the shape of UserAttributes'
// callback, so that a user is written without an Entry being built.
func (w *Writer) add(typ string, values ...string) {
	for _, v := range values {
		w.attr(typ, v)
	}
}

// attr writes one attribute line.
func (w *Writer) attr(typ, value string) {
	if w.err != nil {
		return
	}
	// Most lines fit: built in the buffer's free space, they are not copied.
	if b := appendAttrLine(w.w.AvailableBuffer(), typ, value); len(b) <= lineWidth {
		_, w.err = w.w.Write(append(b, '\n'))
		return
	}
	w.scratch = appendAttrLine(w.scratch[:0], typ, value)
	w.line(w.scratch)
}

// timeAttr writes an attribute line of a time as GeneralizedTime, which
// is short and safe as it is.
func (w *Writer) timeAttr(typ string, t time.Time) {
	if w.err == nil {
		b := append(w.w.AvailableBuffer(), typ...)
		b = appendGeneralizedTime(append(b, ": "...), t)
		_, w.err = w.w.Write(append(b, '\n'))
	}
}

// Flush writes any buffered data to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	return w.w.Flush()
}

func (w *Writer) separate() {
	if w.wrote {
		w.write("\n")
	}
	w.wrote = true
}

// line writes s folded at lineWidth: continuation lines start with a space.
// Folds fall between UTF-8 characters so comments stay readable.
func (w *Writer) line(s []byte) {
	width := lineWidth
	for len(s) > width {
		cut := width
		for cut > 1 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		w.writeBytes(s[:cut])
		w.write("\n ")
		s = s[cut:]
		width = lineWidth - 1
	}
	w.writeBytes(s)
	w.write("\n")
}

func (w *Writer) write(s string) {
	if w.err == nil {
		_, w.err = w.w.WriteString(s)
	}
}

func (w *Writer) writeBytes(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

// appendAttrLine appends "typ: value", "typ:: base64" or "typ:" to b.
func appendAttrLine(b []byte, typ, value string) []byte {
	b = append(b, typ...)
	switch {
	case value == "":
		return append(b, ':')
	case safeString(value):
		b = append(b, ": "...)
		return append(b, value...)
	}
	b = append(b, ":: "...)
	return base64.StdEncoding.AppendEncode(b, []byte(value))
}

// safeString reports whether v can be written as it is: printable ASCII,
// not starting with a space, ':' or '<', and not ending with a space (which
// readers may trim).
func safeString(v string) bool {
	if v == "" {
		return true
	}
	if v[0] == ' ' || v[0] == ':' || v[0] == '<' || v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x20 || v[i] > 0x7e {
			return false
		}
	}
	return true
}
