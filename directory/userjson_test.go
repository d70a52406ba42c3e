package directory

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// TestDecodeUserAsEncodingJSON: the fast decoder of user records reads
// every record as json.Unmarshal does, and takes the fast path for the
// records putJSON writes of plain users.
func TestDecodeUserAsEncodingJSON(t *testing.T) {
	at := time.Date(2026, 12, 4, 22, 31, 5, 123456789, time.UTC)
	users := []User{
		{},
		{ID: "0b3c", UID: "alice", Mail: "alice@example.com", GivenName: "Alice", Surname: "Liddell", DisplayName: "Alice L.",
			UIDNumber: 10001, GIDNumber: 10001, HomeDirectory: "/home/alice", LoginShell: "/bin/bash",
			SSHKeys: []string{"ssh-ed25519 AAAA alice", "ssh-rsa BBBB"}, Disabled: true, Created: at, Modified: at.Add(time.Hour),
			PasswordChanged: at.In(time.FixedZone("x", 3600))},
		{UID: "zoë", GivenName: "Zoë", Surname: "Ñandú 漢字", UIDNumber: -1, SSHKeys: []string{}},
		{UID: `quote"back\slash`, Mail: "<a&b>@example.com", DisplayName: "line\nbreak\u2028"},
		{UID: "smb", SMBFailures: SMBFailures{Count: 3, Last: at, Locked: true}},
	}
	for _, u := range users {
		raw, err := json.Marshal(u)
		if err != nil {
			t.Fatal(err)
		}
		check(t, raw)
	}
	for _, raw := range []string{
		`{"uid":"a","sshKeys":null}`, ` { "uid" : "a" , "uidNumber" : 12 } `, `{"UID":"a"}`, `{"uid":"a","extra":1}`,
		`{"uidNumber":1.5}`, `{"uidNumber":1e3}`, `{"uidNumber":012}`, `{"uidNumber":99999999999999999999}`, `{"uid":"a"`,
		`{"uid":"a"}x`, `{"disabled":tru}`, `{"created":"yesterday"}`, `{"uid":"a","uid":"b"}`, `{"sshKeys":["a",]}`, "{\"uid\":\"\xff\"}",
		`{"uid":null}`, `[]`, ``, `{}`,
	} {
		check(t, []byte(raw))
	}
	plain, _ := json.Marshal(users[1])
	if !(&jsonScan{b: string(plain)}).user(&User{}) {
		t.Errorf("a plain user's record took the slow path: %s", plain)
	}
}

func check(t *testing.T, raw []byte) {
	t.Helper()
	var want, got User
	wantErr := json.Unmarshal(raw, &want)
	gotErr := decodeUser(raw, &got)
	if (wantErr == nil) != (gotErr == nil) || (wantErr == nil && !reflect.DeepEqual(got, want)) {
		t.Errorf("%s:\n got %+v, %v\nwant %+v, %v", raw, got, gotErr, want, wantErr)
	}
}
