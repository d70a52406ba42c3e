package ldif

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func readAll(t testing.TB, in string) ([]Entry, error) {
	r := NewReader(strings.NewReader(in))
	var out []Entry
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, e)
	}
}

func TestRead(t *testing.T) {
	in := "version: 1\r\n" +
		"# a header, folded\r\n" +
		"  over two lines\r\n" +
		"\r\n" +
		"\r\n" +
		"# about alice\n" +
		"dn: uid=alice,ou=people,\n" +
		" dc=example,dc=com\n" +
		"objectClass: inetOrgPerson\n" +
		"# a comment inside the record\n" +
		"cn:: Wm/DqyBNw7xsbGVy\n" +
		"description:    leading fill is not part of the value\n" +
		"empty:\n" +
		"cn;lang-de: Zoe\n" +
		"\n" +
		"dn:: Y249WsO2ZSxkYz1leGFtcGxlLGRjPWNvbQ==\n" +
		"sn: x"
	got, err := readAll(t, in)
	must(t, err)
	want := []Entry{
		{DN: "uid=alice,ou=people,dc=example,dc=com", Line: 7, Comments: []string{"about alice", "a comment inside the record"},
			Attrs: []Attr{{"objectClass", "inetOrgPerson"}, {"cn", "Zoë Müller"}, {"description", "leading fill is not part of the value"}, {"empty", ""}, {"cn;lang-de", "Zoe"}}},
		{DN: "cn=Zöe,dc=example,dc=com", Line: 16, Attrs: []Attr{{"sn", "x"}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if v := values(&got[0], "CN"); !reflect.DeepEqual(v, []string{"Zoë Müller"}) {
		t.Errorf("values of CN = %q; options make another attribute", v)
	}
}

func TestReadRefuses(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"change record":      {"dn: cn=a\nchangetype: modify\nreplace: cn\ncn: b\n", "line 2: change record"},
		"value from a URL":   {"dn: cn=a\njpegPhoto:< file:///etc/shadow\n", "line 2: jpegPhoto: values given by URL"},
		"no dn":              {"cn: a\n", "line 1: a record must start with dn:"},
		"continuation first": {" cn: a\n", "line 1: continuation line"},
		"bad base64":         {"dn: cn=a\ncn:: !!!\n", "line 2: cn: bad base64"},
		"no colon":           {"dn: cn=a\ncn a\n", "line 2: expected"},
		"bad attribute name": {"dn: cn=a\nc n: a\n", "line 2: \"c n\" is not an attribute name"},
		"two dns":            {"dn: cn=a\ndn: cn=b\n", "line 2: a second dn:"},
		"version 2":          {"version: 2\n\ndn: cn=a\n", "line 1: LDIF version \"2\""},
		"DN not UTF-8":       {"dn:: /w==\n", "line 1: the DN is not valid UTF-8"},
		"control":            {"dn: cn=a\ncontrol: 1.2.3 true\nchangetype: delete\n", "line 2: a control"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := readAll(t, c.in)
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want a SyntaxError with %q", err, c.want)
			}
		})
	}
}

func TestWriteReadRoundTrip(t *testing.T) {
	long := strings.Repeat("abcdefghij", 30)
	entries := []Entry{
		{DN: "dc=example,dc=com", Comments: []string{"first entry", "Zoë's comment " + strings.Repeat("é", 60)},
			Attrs: []Attr{{"objectClass", "domain"}, {"dc", "example"}}},
		{DN: "cn=Zoë " + long + ",dc=example,dc=com", Attrs: []Attr{
			{"cn", "Zoë"},
			{"description", long},
			{"leadingSpace", " x"},
			{"leadingColon", ":x"},
			{"leadingLess", "<x"},
			{"trailingSpace", "x "},
			{"newline", "a\nb"},
			{"tab", "a\tb"},
			{"nul", "a\x00b"},
			{"binary", "\xff\xfe\x00\x01"},
			{"empty", ""},
			{"cn;lang-de", "plain"},
		}},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	must(t, w.Comment("a header"))
	for _, e := range entries {
		must(t, w.Write(e))
	}
	must(t, w.Flush())
	out := buf.String()

	for _, line := range strings.Split(out, "\n") {
		if len(line) > lineWidth {
			t.Errorf("line of %d bytes: %q", len(line), line)
		}
	}
	for _, want := range []string{"\ncn:: Wm/Dqw==\n", "\nleadingSpace:: IHg=\n", "\ntrailingSpace:: eCA=\n", "\ntab:: YQli\n", "\nempty:\n", "\ncn;lang-de: plain\n", "\ndn:: "} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "version:") {
		t.Error("the writer must not write a version line: slapadd reads it as an entry")
	}

	got, err := readAll(t, out)
	must(t, err)
	for i := range got {
		got[i].Line = 0
	}
	if !reflect.DeepEqual(got, entries) {
		t.Errorf("read back\n%+v\nwrote\n%+v\nLDIF:\n%s", got, entries, out)
	}
}

func TestWriteRefusesBadNames(t *testing.T) {
	w := NewWriter(io.Discard)
	if err := w.Write(Entry{DN: "cn=a", Attrs: []Attr{{"bad: name", "x"}}}); err == nil {
		t.Error("wrote an attribute name with a colon")
	}
	if err := w.Write(Entry{DN: "cn=\xff"}); err == nil {
		t.Error("wrote a DN that is not UTF-8")
	}
}

// FuzzRead: the reader never panics, nor does Import's mapping of what it
// reads; and whatever it reads, the writer writes so that it reads back the
// same.
func FuzzRead(f *testing.F) {
	f.Add("version: 1\n\ndn: cn=a,dc=example,dc=com\ncn: a\n")
	f.Add("# c\n  folded\ndn:: Y249YQ==\ncn:: WM==\n\n\ndn: cn=b\nx;lang-en: y\n")
	f.Add("dn: cn=a\nchangetype: add\n")
	f.Add("dn: cn=a\nphoto:< file:///x\n")
	f.Add("dn: cn=a\r\n cn=b\r\nsn:\r\n")
	f.Add("dn: cn=g,dc=example,dc=com\nobjectClass: groupOfNames\nmember: cn=g,dc=example,dc=com\nmember: uid=a,dc=x\n\n" +
		"dn: uid=a,dc=x\nobjectClass: posixAccount\nuid: a\nuidNumber: 1\nuserPassword: {SSHA}x\nshadowExpire: 1\n")
	l, err := NewLayout("dc=example,dc=com")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, in string) {
		entries, err := readAll(t, in)
		if err != nil {
			return
		}
		p, err := newPlan(l, testNow, 0)
		must(t, err)
		for _, e := range entries {
			p.add(e)
		}
		p.link()
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, e := range entries {
			e.Comments = nil // a comment is kept as text, not byte for byte
			if err := w.Write(e); err != nil {
				t.Fatalf("cannot write what was read: %v", err)
			}
		}
		must(t, w.Flush())
		again, err := readAll(t, buf.String())
		if err != nil {
			t.Fatalf("cannot read what was written: %v\n%s", err, buf.String())
		}
		if len(again) != len(entries) {
			t.Fatalf("%d entries became %d", len(entries), len(again))
		}
		for i := range entries {
			if again[i].DN != entries[i].DN || !reflect.DeepEqual(again[i].Attrs, entries[i].Attrs) {
				t.Fatalf("entry %d changed:\n%+v\n%+v", i, entries[i], again[i])
			}
		}
	})
}
