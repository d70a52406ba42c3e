package directory

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestStateRecordSplitMatchesJSON checks the quick split of a stored state
// record against encoding/json, on records putState writes and on others.
func TestStateRecordSplitMatchesJSON(t *testing.T) {
	exp := time.Date(2026, 12, 5, 3, 4, 5, 123456789, time.UTC)
	written := func(v any) []byte {
		value, _ := json.Marshal(v)
		raw, _ := json.Marshal(stateRecord{Expires: exp, Value: value})
		return raw
	}
	for _, raw := range [][]byte{
		written(map[string]any{"user": "u1", "methods": []string{"pwd", "otp"}, "note": `a "quoted" } brace`}),
		written("just a string"),
		written(42),
		written([]int{}),
		[]byte(`{ "exp": "2026-12-05T03:04:05Z", "v": {"a": 1} }`),
		[]byte(`{"v":{"a":1},"exp":"2026-12-05T03:04:05Z"}`),
		[]byte(`{"exp":"not a time","v":1}`),
	} {
		var want stateRecord
		wantErr := json.Unmarshal(raw, &want)
		got, err := decodeStateRecord(raw)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%s: error %v, encoding/json %v", raw, err, wantErr)
		}
		if err != nil {
			continue
		}
		if !got.Expires.Equal(want.Expires) || !bytes.Equal(compactJSON(t, got.Value), compactJSON(t, want.Value)) {
			t.Errorf("%s: got %v %s, encoding/json %v %s", raw, got.Expires, got.Value, want.Expires, want.Value)
		}
	}
}

func compactJSON(t *testing.T, raw []byte) []byte {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
