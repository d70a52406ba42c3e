package ldapserver

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/ldapserver/internal/lber"
)

// parseBER must read every request as go-asn1-ber does, in everything
// Atrium looks at.
func TestParseBERMatchesGoASN1BER(t *testing.T) {
	var msgs [][]byte
	add := func(op *ber.Packet, controls ...ldap.Control) {
		var cs []byte
		for _, c := range controls {
			cs = append(cs, c.Encode().Bytes()...)
		}
		msgs = append(msgs, lber.Envelope(int64(len(msgs)+1), op.Bytes(), cs))
	}
	add(gapBind(aliceDN, "pässwörd"))
	for _, flt := range []string{"(uid=alice)", "(&(objectClass=posixAccount)(|(uid=a*b*c)(mail=*@x))(!(uidNumber>=5)))",
		"(memberOf:1.2.840.113556.1.4.1941:=cn=g,dc=x)", "(cn~=x)", "(uid:dn:caseExactMatch:=a)", "(x=*)", "(uidNumber<=-129)"} {
		add(gapSearch(t, base, scopeSub, flt, "uid", "*", "+", "1.1"))
	}
	add(gapSearch(t, "", scopeBase, "(objectClass=*)"), ldap.NewControlPaging(1000), ldap.NewControlManageDsaIT(true))
	str := func(v string) *ber.Packet {
		return ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "")
	}
	seq := func(tag ber.Tag, class ber.Class, children ...*ber.Packet) *ber.Packet {
		p := ber.Encode(class, ber.TypeConstructed, tag, nil, "")
		for _, c := range children {
			p.AppendChild(c)
		}
		return p
	}
	attr := func(name string, values ...string) *ber.Packet {
		set := seq(ber.TagSet, ber.ClassUniversal)
		for _, v := range values {
			set.AppendChild(str(v))
		}
		return seq(ber.TagSequence, ber.ClassUniversal, str(name), set)
	}
	change := func(op int64, a *ber.Packet) *ber.Packet {
		return seq(ber.TagSequence, ber.ClassUniversal, ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, op, ""), a)
	}
	add(seq(opModify, ber.ClassApplication, str(aliceDN), seq(ber.TagSequence, ber.ClassUniversal,
		change(2, attr("mail", "a@b", "c@d")), change(1, attr("sshPublicKey")), change(3, attr("uidNumber", "1")))))
	add(seq(opAdd, ber.ClassApplication, str("uid=x,ou=people,dc=example,dc=com"), seq(ber.TagSequence, ber.ClassUniversal, attr("objectClass", "inetOrgPerson"))))
	pm := seq(ber.TagSequence, ber.ClassUniversal, ber.NewString(ber.ClassContext, ber.TypePrimitive, 1, "old", ""))
	add(seq(opExtended, ber.ClassApplication, ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, oidPasswordModify, ""),
		ber.NewString(ber.ClassContext, ber.TypePrimitive, 1, string(pm.Bytes()), "")))
	add(ber.NewInteger(ber.ClassApplication, ber.TypePrimitive, opAbandon, int64(300), ""))
	for i, raw := range msgs {
		want, err := ber.DecodePacketErr(raw)
		if err != nil {
			t.Fatal(err)
		}
		elements, err := checkNesting(raw, maxNesting)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		// With the element count, from the slabs; without, one by one.
		for _, hint := range []int{elements, 0} {
			got, err := parseBER(raw, hint)
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if diff := gapCompare(want, got, "msg"); diff != "" {
				t.Errorf("message %d (count %d): %s", i, hint, diff)
			}
		}
	}
	for _, bad := range [][]byte{{0x30}, {0x30, 0x05, 0x02, 0x01}, {0x30, 0x02, 0x02, 0x05}, {0x04, 0x01, 'a', 'b'}} {
		for _, hint := range []int{0, 3} {
			if _, err := parseBER(bad, hint); err == nil {
				t.Errorf("% x was accepted", bad)
			}
		}
	}
}

func gapCompare(want, got *ber.Packet, path string) string {
	switch {
	case want.ClassType != got.ClassType || want.TagType != got.TagType || want.Tag != got.Tag:
		return fmt.Sprintf("%s: identifier %v/%v/%v, want %v/%v/%v", path, got.ClassType, got.TagType, got.Tag, want.ClassType, want.TagType, want.Tag)
	case len(want.Children) != len(got.Children):
		return fmt.Sprintf("%s: %d children, want %d", path, len(got.Children), len(want.Children))
	case !bytes.Equal(want.Data.Bytes(), got.Data.Bytes()):
		return fmt.Sprintf("%s: data % x, want % x", path, got.Data.Bytes(), want.Data.Bytes())
	}
	switch want.Tag {
	case ber.TagInteger, ber.TagEnumerated, ber.TagBoolean: // the Values Atrium reads
		if want.ClassType == ber.ClassUniversal && want.TagType == ber.TypePrimitive && want.Value != got.Value {
			return fmt.Sprintf("%s: value %#v, want %#v", path, got.Value, want.Value)
		}
	}
	for i := range want.Children {
		if d := gapCompare(want.Children[i], got.Children[i], fmt.Sprintf("%s/%d", path, i)); d != "" {
			return d
		}
	}
	return ""
}

// FuzzParseBER compares parseBER with go-asn1-ber on arbitrary input that
// passes the framing checks: whatever go-asn1-ber reads, parseBER reads the
// same way.
func FuzzParseBER(f *testing.F) {
	for _, s := range seedMessages() {
		f.Add(s)
	}
	f.Add([]byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x50, 0x01, 0x04})
	f.Fuzz(func(t *testing.T, b []byte) {
		elements, err := checkNesting(b, maxNesting)
		if err != nil {
			return
		}
		want, err := ber.DecodePacketErr(b)
		if err != nil || len(want.Bytes()) != len(b) {
			return
		}
		got, err := parseBER(b, elements)
		if err != nil {
			t.Fatalf("go-asn1-ber reads % x, parseBER fails: %v", b, err)
		}
		if d := gapCompare(want, got, "root"); d != "" {
			t.Fatal(d)
		}
	})
}

// BenchmarkDecodeSearch decodes what nslcd sends to look up a login name.
func BenchmarkDecodeSearch(b *testing.B) {
	flt, err := ldap.CompileFilter("(&(objectClass=posixAccount)(uid=alice))")
	if err != nil {
		b.Fatal(err)
	}
	req := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 3, nil, "")
	req.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "dc=example,dc=com", ""))
	for _, v := range []int64{2, 0, 0, 0} {
		req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, v, ""))
	}
	req.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, ""))
	req.AppendChild(flt)
	attrs := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	for _, a := range []string{"uid", "userPassword", "uidNumber", "gidNumber", "cn", "homeDirectory", "loginShell", "gecos", "objectClass"} {
		attrs.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, ""))
	}
	req.AppendChild(attrs)
	msg := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(7), ""))
	msg.AppendChild(req)
	raw := msg.Bytes()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeMessage(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// A request's Packets are reused once it is answered: decoding a uid
// search allocated about 4 KB of them, half of what a search leaves for
// the collector. A released message holds no Packets, and the next
// message decoded into the same memory reads as it should.
func TestAnsweredRequestsLeaveTheirPacketsForTheNext(t *testing.T) {
	first := lber.Envelope(1, gapSearch(t, base, scopeSub, "(&(objectClass=posixAccount)(uid=alice))", "uid", "cn", "uidNumber", "gidNumber").Bytes(), nil)
	second := lber.Envelope(2, gapSearch(t, base, scopeSub, "(uid=bob)", "mail").Bytes(), nil)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 1000
	for range n {
		m, err := decodeMessage(first)
		if err != nil {
			t.Fatal(err)
		}
		m.release()
		if m.op != nil {
			t.Fatal("a released message still holds its Packets")
		}
	}
	runtime.ReadMemStats(&after)
	if perMessage := (after.TotalAlloc - before.TotalAlloc) / n; perMessage > 1024 {
		t.Errorf("decoding a uid search allocates %d bytes, want at most 1 KB", perMessage)
	}
	m, err := decodeMessage(second)
	if err != nil {
		t.Fatal(err)
	}
	defer m.release()
	q, err := decodeSearch(m.op)
	if err != nil {
		t.Fatal(err)
	}
	if m.id != 2 || q.filter.String() != "(uid=bob)" || len(q.attrs) != 1 || q.attrs[0] != "mail" {
		t.Errorf("the next message reads as id %d, filter %s, attributes %v", m.id, q.filter, q.attrs)
	}
}
