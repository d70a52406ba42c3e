package lber

// Universal tags (X.690).
const (
	TagBoolean     = 0x01
	TagInteger     = 0x02
	TagOctetString = 0x04
	TagEnumerated  = 0x0a
	TagSequence    = 0x30
	TagSet         = 0x31
)

func lenLen(n int) int {
	switch {
	case n < 0x80:
		return 1
	case n < 0x100:
		return 2
	case n < 0x10000:
		return 3
	case n < 0x1000000:
		return 4
	}
	return 5
}

// TLVLen is the size of a TLV whose content is n bytes.
func TLVLen(n int) int { return 1 + lenLen(n) + n }

// AppendHeader appends the tag and definite length of a TLV whose content
// is n bytes.
func AppendHeader(b []byte, tag byte, n int) []byte {
	b = append(b, tag)
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n < 0x100:
		return append(b, 0x81, byte(n))
	case n < 0x10000:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n < 0x1000000:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// AppendString appends s as one TLV.
func AppendString(b []byte, tag byte, s string) []byte {
	return append(AppendHeader(b, tag, len(s)), s...)
}

// IntContent is the content octets of v as a BER INTEGER: two's
// complement, shortest form.
func IntContent(v int64) []byte {
	var out []byte
	for {
		out = append([]byte{byte(v)}, out...)
		v >>= 8
		if (v == 0 && out[0]&0x80 == 0) || (v == -1 && out[0]&0x80 != 0) {
			return out
		}
	}
}

// AppendInt appends v as one INTEGER-shaped TLV.
func AppendInt(b []byte, tag byte, v int64) []byte {
	c := IntContent(v)
	return append(AppendHeader(b, tag, len(c)), c...)
}

// Envelope wraps a protocol op (already encoded) and optional controls
// (the encoded Control elements, side by side) in an LDAPMessage.
func Envelope(id int64, op []byte, controls []byte) []byte {
	idc := IntContent(id)
	n := TLVLen(len(idc)) + len(op)
	if len(controls) > 0 {
		n += TLVLen(len(controls))
	}
	b := make([]byte, 0, TLVLen(n))
	b = AppendHeader(b, TagSequence, n)
	b = append(AppendHeader(b, TagInteger, len(idc)), idc...)
	b = append(b, op...)
	if len(controls) > 0 {
		b = append(AppendHeader(b, 0xa0, len(controls)), controls...)
	}
	return b
}

// ResultOp encodes an LDAPResult-shaped op with optional trailing fields
// (already encoded: referral, serverSaslCreds, responseName/Value).
func ResultOp(tag byte, code uint16, matched, msg string, extra []byte) []byte {
	c := IntContent(int64(code))
	n := TLVLen(len(c)) + TLVLen(len(matched)) + TLVLen(len(msg)) + len(extra)
	b := make([]byte, 0, TLVLen(n))
	b = AppendHeader(b, tag, n)
	b = append(AppendHeader(b, TagEnumerated, len(c)), c...)
	b = AppendString(b, TagOctetString, matched)
	b = AppendString(b, TagOctetString, msg)
	return append(b, extra...)
}
