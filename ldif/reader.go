package ldif

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// maxLine bounds one unfolded line, so a corrupt file cannot make the reader
// hold gigabytes; a large jpegPhoto is well under it.
const maxLine = 16 << 20

// SyntaxError is a problem in the LDIF text itself.
type SyntaxError struct {
	Line int // 1-based
	Msg  string
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Reader reads the content records of an LDIF file (RFC 2849): an optional
// "version: 1" line, comments, folded lines, plain and base64 values,
// records separated by blank lines. Change records (changetype:) and values
// given by URL (attr:< file://...) are refused: Atrium imports content only,
// and never reads files named inside the data it imports.
type Reader struct {
	br      *bufio.Reader
	line    int       // number of the last physical line read
	ahead   *string   // a physical line read but not yet used
	started bool      // a record or version line has been read
	err     error     // sticky
	lines   []logical // the last paragraph's, reused for the next
}

// NewReader reads LDIF from r.
func NewReader(r io.Reader) *Reader { return &Reader{br: bufio.NewReader(r)} }

// logical is one unfolded line and where it started.
type logical struct {
	text string
	line int
}

// Next returns the next record, or io.EOF after the last one.
func (r *Reader) Next() (Entry, error) {
	if r.err != nil {
		return Entry{}, r.err
	}
	e, err := r.next()
	if err != nil {
		r.err = err
	}
	return e, err
}

func (r *Reader) next() (Entry, error) {
	for {
		block, comments, seen, err := r.paragraph()
		if err != nil {
			return Entry{}, err
		}
		if !seen {
			return Entry{}, io.EOF
		}
		if len(block) == 0 {
			continue // a paragraph of comments only
		}
		if !r.started {
			r.started = true
			typ, val, ok := strings.Cut(block[0].text, ":")
			if ok && strings.EqualFold(typ, "version") {
				if v := strings.TrimLeft(val, " "); v != "1" {
					return Entry{}, &SyntaxError{block[0].line, fmt.Sprintf("LDIF version %q: only version 1 exists", clip(v))}
				}
				block = block[1:]
				if len(block) == 0 {
					continue
				}
			}
		}
		return parseRecord(block, comments)
	}
}

// paragraph returns the logical lines up to the next blank line or the end
// of the input, with comments apart. seen is false when nothing but blank
// lines was left.
func (r *Reader) paragraph() (lines []logical, comments []string, seen bool, err error) {
	lines = r.lines[:0]
	defer func() { r.lines = lines }()
	for {
		l, ok, err := r.logicalLine()
		if err != nil {
			return nil, nil, false, err
		}
		if !ok {
			return lines, comments, seen, nil
		}
		if l.text == "" {
			if seen {
				return lines, comments, true, nil
			}
			continue // blank lines between records
		}
		seen = true
		if c, isComment := strings.CutPrefix(l.text, "#"); isComment {
			comments = append(comments, strings.TrimPrefix(c, " "))
			continue
		}
		lines = append(lines, l)
	}
}

// logicalLine reads one line and the continuation lines folded into it.
// ok is false at the end of the input.
func (r *Reader) logicalLine() (l logical, ok bool, err error) {
	first, ok, err := r.physical()
	if err != nil || !ok {
		return logical{}, ok, err
	}
	start := r.line
	if strings.HasPrefix(first, " ") {
		return logical{}, false, &SyntaxError{start, "continuation line (starting with a space) with no line to continue"}
	}
	if first == "" {
		return logical{"", start}, true, nil
	}
	var b strings.Builder // only when a continuation line comes
	for {
		next, ok, err := r.physical()
		if err != nil {
			return logical{}, false, err
		}
		if !ok {
			break
		}
		if !strings.HasPrefix(next, " ") {
			r.ahead = &next
			r.line--
			break
		}
		if b.Len() == 0 {
			b.WriteString(first)
		}
		if b.Len()+len(next) > maxLine {
			return logical{}, false, &SyntaxError{start, fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		b.WriteString(next[1:])
	}
	if b.Len() == 0 {
		return logical{first, start}, true, nil
	}
	return logical{b.String(), start}, true, nil
}

// physical reads one line without its line ending.
func (r *Reader) physical() (string, bool, error) {
	if r.ahead != nil {
		s := *r.ahead
		r.ahead = nil
		r.line++
		return s, true, nil
	}
	var buf []byte
	for {
		chunk, err := r.br.ReadSlice('\n')
		if buf == nil && err == nil {
			buf = chunk // the whole line, in the reader's buffer until the next read
			break
		}
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return "", false, &SyntaxError{r.line + 1, fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF {
			if len(buf) == 0 {
				return "", false, nil
			}
			break
		}
		if err != nil {
			return "", false, err
		}
		break
	}
	r.line++
	buf = bytes.TrimSuffix(buf, []byte("\n"))
	buf = bytes.TrimSuffix(buf, []byte("\r"))
	return string(buf), true, nil
}

// parseRecord turns the lines of one paragraph into an Entry.
func parseRecord(block []logical, comments []string) (Entry, error) {
	e := Entry{Comments: comments, Line: block[0].line, Attrs: make([]Attr, 0, len(block)-1)}
	typ, val, err := parseLine(block[0])
	if err != nil {
		return Entry{}, err
	}
	if !strings.EqualFold(typ, "dn") {
		return Entry{}, &SyntaxError{block[0].line, fmt.Sprintf("a record must start with dn:, not %q", typ)}
	}
	if !utf8.ValidString(val) {
		return Entry{}, &SyntaxError{block[0].line, "the DN is not valid UTF-8"}
	}
	e.DN = val
	for i, l := range block[1:] {
		typ, val, err := parseLine(l)
		if err != nil {
			return Entry{}, err
		}
		switch {
		case i == 0 && strings.EqualFold(typ, "changetype"):
			return Entry{}, &SyntaxError{l.line, fmt.Sprintf("change record (changetype: %s) for %s: only content records (entries with their attributes) can be imported", val, e.DN)}
		case strings.EqualFold(typ, "control"):
			return Entry{}, &SyntaxError{l.line, "a control belongs to a change record: only content records can be imported"}
		case strings.EqualFold(typ, "dn"):
			return Entry{}, &SyntaxError{l.line, "a second dn: in one record; separate records with a blank line"}
		}
		e.Attrs = append(e.Attrs, Attr{Type: typ, Value: val})
	}
	return e, nil
}

// parseLine splits "type: value", "type:: base64" or "type:< url".
func parseLine(l logical) (typ, val string, err error) {
	typ, rest, ok := strings.Cut(l.text, ":")
	if !ok {
		return "", "", &SyntaxError{l.line, fmt.Sprintf("expected \"attribute: value\", found %q", clip(l.text))}
	}
	if !validAttrDescription(typ) {
		return "", "", &SyntaxError{l.line, fmt.Sprintf("%q is not an attribute name", clip(typ))}
	}
	switch {
	case strings.HasPrefix(rest, ":"):
		raw, err := base64.StdEncoding.DecodeString(strings.Trim(rest[1:], " "))
		if err != nil {
			return "", "", &SyntaxError{l.line, fmt.Sprintf("%s: bad base64: %v", typ, err)}
		}
		return typ, string(raw), nil
	case strings.HasPrefix(rest, "<"):
		return "", "", &SyntaxError{l.line, fmt.Sprintf("%s: values given by URL (%s) are not read; put the value in the file, base64-encoded", typ, clip(strings.TrimLeft(rest[1:], " ")))}
	}
	val = strings.TrimLeft(rest, " ")
	if strings.ContainsRune(val, 0) {
		return "", "", &SyntaxError{l.line, fmt.Sprintf("%s: a NUL byte must be base64-encoded", typ)}
	}
	return typ, val, nil
}

// validAttrDescription reports whether s is an attribute type with options,
// such as "cn", "userCertificate;binary" or "2.5.4.3".
func validAttrDescription(s string) bool {
	if isKeyword(s) {
		return true // the common case, checked without allocating
	}
	typ, opts, _ := strings.Cut(s, ";")
	if !validAttrType(strings.ToLower(typ)) {
		return false
	}
	if opts == "" {
		return !strings.HasSuffix(s, ";")
	}
	for _, o := range strings.Split(opts, ";") {
		if o == "" || strings.Trim(strings.ToLower(o), "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return false
		}
	}
	return true
}

// isKeyword reports whether s is a name such as "cn" or "objectClass": a
// letter, then letters, digits and hyphens.
func isKeyword(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // lower case, for letters
		if !('a' <= c && c <= 'z' || i > 0 && ('0' <= s[i] && s[i] <= '9' || s[i] == '-')) {
			return false
		}
	}
	return s != ""
}

// clip shortens text quoted in an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
