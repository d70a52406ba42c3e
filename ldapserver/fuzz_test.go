package ldapserver

import (
	"bytes"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/ldapserver/internal/lber"
)

// seedMessages are real requests as go-ldap encodes them.
func seedMessages() [][]byte {
	var out [][]byte
	bind := ldap.NewSimpleBindRequest(aliceDN, "alice-password", nil)
	_ = bind
	for _, flt := range []string{"(uid=alice)", "(&(objectClass=posixAccount)(|(uid=a*)(mail=*@x)))", "(memberOf:1.2.840.113556.1.4.1941:=cn=g,dc=x)", "(!(uidNumber>=5))"} {
		p, err := ldap.CompileFilter(flt)
		if err != nil {
			panic(err)
		}
		out = append(out, lber.Envelope(1, append(lber.AppendHeader(nil, 0x63, len(p.Bytes())), p.Bytes()...), nil))
	}
	return out
}

// FuzzDecodeMessage feeds arbitrary bytes to the framing and decoding of a
// request: it must never panic, and never accept a message larger than the
// limit.
func FuzzDecodeMessage(f *testing.F) {
	for _, s := range seedMessages() {
		f.Add(s)
	}
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		raw, err := lber.ReadMessage(bytes.NewReader(b), bytes.NewReader(b[min(len(b), 0):]), 1<<16, nil)
		if err != nil {
			return
		}
		if len(raw) > 1<<16+6 {
			t.Fatalf("accepted %d bytes", len(raw))
		}
		m, err := decodeMessage(raw)
		if err != nil || m == nil {
			return
		}
		if m.tag == opSearch {
			decodeSearch(m.op)
		}
		if m.tag == opModify || m.tag == opAdd {
			if len(m.op.Children) > 1 {
				decodeChanges(m.op.Children[1])
			}
		}
	})
}

// FuzzFilter decodes arbitrary filter BER and evaluates it against a user
// entry: no panic, and the result is one of the three states.
func FuzzFilter(f *testing.F) {
	for _, flt := range []string{"(uid=alice)", "(|(cn=*a*b*c)(uidNumber<=9)(!(x=y)))", "(createTimestamp>=20200101000000Z)", "(member:dn:=alice)", "(cn~=Alise)"} {
		p, _ := ldap.CompileFilter(flt)
		f.Add(p.Bytes())
	}
	tr := tree{}
	e := tr.userEntry(sampleUser(), []string{staffDN}, nil)
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := checkNesting(b, maxNesting); err != nil {
			return
		}
		p, err := decodePacket(b)
		if err != nil {
			return
		}
		flt, err := decodeFilter(p)
		if err != nil {
			return
		}
		ev := &evaluator{chain: func(*entry, string, string) tristate { return isUndefined }}
		if r := ev.eval(flt, e); r != isTrue && r != isFalse && r != isUndefined {
			t.Fatalf("result %d", r)
		}
		_ = flt.String()
	})
}
