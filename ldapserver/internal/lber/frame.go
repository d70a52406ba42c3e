package lber

import (
	"errors"
	"fmt"
	"io"
	"slices"
)

// Framing errors.
var (
	ErrTooLarge   = errors.New("message larger than the limit")
	ErrNotMessage = errors.New("not an LDAP message")
)

// ReadMessage reads one BER-framed LDAPMessage of at most limit bytes of
// content. The length is checked before the body is read, and the buffer
// grows only as bytes arrive (at most doubling what has come), so a
// client that declares a large message and sends little holds little.
// The message goes into buf when it fits, so a caller that is done with
// each message before reading the next can reuse one buffer; with a nil
// buf every message is a fresh slice the caller may keep.
func ReadMessage(r io.ByteReader, full io.Reader, limit int, buf []byte) ([]byte, error) {
	header, n, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	if n > limit {
		return nil, ErrTooLarge
	}
	total := len(header) + n
	msg := append(buf[:0], header...)
	for len(msg) < total {
		if len(msg) == cap(msg) {
			msg = slices.Grow(msg, min(max(len(msg), firstChunk), total-len(msg)))
		}
		k, err := full.Read(msg[len(msg):min(cap(msg), total)])
		msg = msg[:len(msg)+k]
		if err != nil && len(msg) < total {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return msg, nil
}

// firstChunk is the buffer a message body starts with before it grows.
const firstChunk = 512

// readHeader reads the tag and length of an LDAPMessage.
func readHeader(r io.ByteReader) (header []byte, n int, err error) {
	tag, err := r.ReadByte()
	if err != nil {
		return nil, 0, err
	}
	if tag != TagSequence {
		return nil, 0, fmt.Errorf("%w: tag 0x%02x", ErrNotMessage, tag)
	}
	first, err := r.ReadByte()
	if err != nil {
		return nil, 0, err
	}
	header = []byte{tag, first}
	n = int(first)
	if first&0x80 != 0 {
		k := int(first & 0x7f)
		if k == 0 || k > 4 {
			return nil, 0, fmt.Errorf("%w: length of %d bytes", ErrNotMessage, k)
		}
		n = 0
		for range k {
			c, err := r.ReadByte()
			if err != nil {
				return nil, 0, err
			}
			header = append(header, c)
			n = n<<8 | int(c)
		}
	}
	return header, n, nil
}

// Header reads the tag and length at the start of b: the identifier
// octet, the header's length and the content's length. Only single-byte
// tags and definite lengths of up to four bytes are LDAP.
func Header(b []byte) (id byte, hl, n int, err error) {
	if len(b) < 2 {
		return 0, 0, 0, io.ErrUnexpectedEOF
	}
	id, first := b[0], b[1]
	if id&0x1f == 0x1f {
		return 0, 0, 0, errors.New("multi-byte tag")
	}
	n, hl = int(first), 2
	if first&0x80 != 0 {
		k := int(first & 0x7f)
		if k == 0 || k > 4 || len(b) < 2+k {
			return 0, 0, 0, errors.New("bad length")
		}
		n = 0
		for _, x := range b[2 : 2+k] {
			n = n<<8 | int(x)
		}
		hl += k
	}
	if n < 0 || len(b)-hl < n {
		return 0, 0, 0, io.ErrUnexpectedEOF
	}
	return id, hl, n, nil
}

// Op splits a whole LDAPMessage into its message ID, and its protocol
// op's tag and content, without decoding the op.
func Op(msg []byte) (id int64, tag byte, content []byte, err error) {
	_, hl, n, err := Header(msg)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("%w: envelope: %v", ErrNotMessage, err)
	}
	body := msg[hl : hl+n]
	idTag, hl, n, err := Header(body)
	if err != nil || idTag != TagInteger || n == 0 || n > 4 {
		return 0, 0, nil, fmt.Errorf("%w: bad message ID", ErrNotMessage)
	}
	for _, x := range body[hl : hl+n] {
		id = id<<8 | int64(x)
	}
	rest := body[hl+n:]
	tag, hl, n, err = Header(rest)
	if err != nil {
		return 0, 0, nil, fmt.Errorf("%w: operation: %v", ErrNotMessage, err)
	}
	return id, tag, rest[hl : hl+n], nil
}
