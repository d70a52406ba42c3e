package lber

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// A message written by Envelope reads back through ReadMessage and Op,
// with short and long lengths, and into a reused buffer.
func TestEnvelopeReadsBack(t *testing.T) {
	var buf []byte
	for _, size := range []int{0, 5, 200, 70000} {
		op := ResultOp(0x65, 32, "dc=example", string(make([]byte, size)), nil)
		msg := Envelope(300, op, nil)
		r := bytes.NewReader(msg)
		raw, err := ReadMessage(r, r, 1<<20, buf)
		if err != nil || !bytes.Equal(raw, msg) {
			t.Fatalf("size %d: read %d bytes, %v", size, len(raw), err)
		}
		buf = raw
		id, tag, content, err := Op(raw)
		if err != nil || id != 300 || tag != 0x65 || !bytes.Equal(content, op[len(op)-len(content):]) {
			t.Errorf("size %d: Op = %d %#x %d bytes, %v", size, id, tag, len(content), err)
		}
	}
}

// The size limit is checked on the header, before the body is read.
func TestReadMessageLimits(t *testing.T) {
	big := Envelope(1, ResultOp(0x65, 0, "", string(make([]byte, 5000)), nil), nil)
	r := bytes.NewReader(big)
	if _, err := ReadMessage(r, r, 4096, nil); !errors.Is(err, ErrTooLarge) {
		t.Errorf("over the limit: %v", err)
	}
	if r.Len() != len(big)-4 {
		t.Errorf("read %d bytes of an oversized message, want only its 4-byte header", len(big)-r.Len())
	}
	for _, bad := range [][]byte{{0x04, 0x00}, {0x30, 0x80}, {0x30, 0x85, 1, 1, 1, 1, 1}} {
		r := bytes.NewReader(bad)
		if _, err := ReadMessage(r, r, 4096, nil); !errors.Is(err, ErrNotMessage) {
			t.Errorf("% x: %v", bad, err)
		}
	}
	if _, _, _, err := Op([]byte{0x30, 0x03, 0x02, 0x01, 0x01}); !errors.Is(err, ErrNotMessage) {
		t.Errorf("a message without an op: %v", err)
	}
}

// trickle declares a large message, sends a few bytes of it and then
// nothing, and records the largest buffer it was asked to fill.
type trickle struct {
	data    []byte
	largest int
}

func (t *trickle) ReadByte() (byte, error) {
	if len(t.data) == 0 {
		return 0, io.EOF
	}
	b := t.data[0]
	t.data = t.data[1:]
	return b, nil
}

func (t *trickle) Read(p []byte) (int, error) {
	t.largest = max(t.largest, len(p))
	if len(t.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, t.data)
	t.data = t.data[n:]
	return n, nil
}

// A declared length reserves nothing: the buffer grows with what arrives.
func TestReadMessageGrowsWithData(t *testing.T) {
	r := &trickle{data: []byte{0x30, 0x83, 0x10, 0x00, 0x00, 0x02, 0x01, 0x01}}
	if _, err := ReadMessage(r, r, 1<<20, nil); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: %v", err)
	}
	if r.largest > 4096 {
		t.Errorf("asked for %d bytes after a 1 MiB header and 2 bytes of body; want at most 4 KiB", r.largest)
	}
}
