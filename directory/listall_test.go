package directory

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestParseUTCAsTimeParse: the fast reader of stored times gives what
// time.Parse gives, and leaves to it whatever it does not handle.
func TestParseUTCAsTimeParse(t *testing.T) {
	for _, v := range []string{
		"2026-12-04T22:31:05Z", "2026-12-04T22:31:05.123456789Z", "2026-12-04T22:31:05.5Z", "0001-01-01T00:00:00Z",
		"2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-12-04T24:00:00Z", "2026-12-04T23:60:00Z",
		"2026-12-04T23:59:60Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-12-00T00:00:00Z", "2026-12-04T22:31:05.Z",
		"2026-12-04T22:31:05.1234567891Z", "2026-12-04T22:31:05+01:00", "2026-12-04t22:31:05Z", "2026-12-04T22:31:5Z",
		"2026-1a-04T22:31:05Z", "+026-12-04T22:31:05Z", "2026-12-04T22:31:05,5Z", "2026-12-04T22:31:05.-5Z",
	} {
		got, ok := parseUTC(v)
		want, err := time.Parse(time.RFC3339Nano, v)
		if ok && (err != nil || !reflect.DeepEqual(got, want)) {
			t.Errorf("%s: parseUTC gives %v, time.Parse %v, %v", v, got, want, err)
		}
	}
	if _, ok := parseUTC("2026-12-04T22:31:05.123456789Z"); !ok {
		t.Error("a stored time took the slow path")
	}
}

// TestDecodeGroupAsEncodingJSON: the fast decoder of group records reads
// every record as json.Unmarshal does, and takes the fast path for the
// records putJSON writes.
func TestDecodeGroupAsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 4, 22, 31, 5, 123456789, time.UTC)
	groups := []Group{
		{},
		{ID: "0b3c", CN: "staff", Description: "All staff", GIDNumber: 5000, Users: []string{"a", "b"}, Groups: []string{"c"},
			Created: at, Modified: at.Add(time.Hour)},
		{CN: "zoë ñandú", Description: `quote"back\slash`, Users: []string{}, Modified: at.In(time.FixedZone("x", 3600))},
	}
	var raws []string
	for _, g := range groups {
		raw, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		raws = append(raws, string(raw))
	}
	raws = append(raws, `{"cn":"a","users":null}`, `{"cn":"a","extra":1}`, `{"gidNumber":1.5}`, `{"users":["a",]}`,
		`{"cn":"a"`, `{"cn":"a"}x`, "{\"cn\":\"\xff\"}", `[]`, ``)
	for _, raw := range raws {
		var want, got Group
		wantErr := json.Unmarshal([]byte(raw), &want)
		gotErr := decodeGroupText([]byte(raw), raw, &got)
		if (wantErr == nil) != (gotErr == nil) || (wantErr == nil && !reflect.DeepEqual(got, want)) {
			t.Errorf("%s:\n got %+v, %v\nwant %+v, %v", raw, got, gotErr, want, wantErr)
		}
	}
	if !(&jsonScan{b: raws[1]}).group(&Group{}) {
		t.Errorf("a group's record took the slow path: %s", raws[1])
	}
}

// TestLeadingUIDAsDecodeUser: the uid UserRecords sorts by, read from the
// start of a record, is the one decodeUser reads, or is left to it.
func TestLeadingUIDAsDecodeUser(t *testing.T) {
	at := time.Date(2026, 12, 4, 22, 31, 5, 0, time.UTC)
	var raws []string
	for _, u := range []User{
		{ID: "0b3c", UID: "alice", Mail: "a@example.com", Created: at, Modified: at},
		{ID: "0b3d", UID: "zoë", Created: at},
		{ID: "0b3e", UID: "bob", SMBFailures: SMBFailures{Count: 2}}, // json.Marshal writes it
	} {
		raw, ok := appendUserJSON(nil, &u)
		if !ok {
			var err error
			raw, err = json.Marshal(u)
			if err != nil {
				t.Fatal(err)
			}
		}
		raws = append(raws, string(raw))
	}
	raws = append(raws, `{"id":"x","uid":"a\"b"}`, `{"uid":"a","id":"x"}`, `{"id":"x\u0041","uid":"a"}`,
		"{\"id\":\"x\",\"uid\":\"\xff\"}", `{"id":"x","uid":"a\tb"}`, `{"id":"x"}`)
	fast := 0
	for _, raw := range raws {
		uid, ok := leadingUID([]byte(raw))
		var u User
		err := decodeUser([]byte(raw), &u)
		if ok {
			fast++
			if err != nil || u.UID != uid {
				t.Errorf("%s: leadingUID %q, decodeUser %q, %v", raw, uid, u.UID, err)
			}
		}
	}
	if fast != 3 {
		t.Errorf("%d records took the fast path, want the 3 the store writes", fast)
	}
}
