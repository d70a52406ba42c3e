package directory

import (
	"encoding/json"
	"testing"
	"time"
)

// TestAppendUserJSONAsMarshal: the user encoder writes exactly what
// json.Marshal writes, and leaves to it every user it cannot.
func TestAppendUserJSONAsMarshal(t *testing.T) {
	at := time.Date(2026, 12, 4, 22, 31, 5, 123456789, time.UTC)
	users := []User{
		{},
		{ID: "0b3c", UID: "alice", Mail: "alice@example.com", GivenName: "Alice", Surname: "Liddell", DisplayName: "Alice L.",
			UIDNumber: 10001, GIDNumber: 10001, HomeDirectory: "/home/alice", LoginShell: "/bin/bash",
			SSHKeys: []string{"ssh-ed25519 AAAA alice", "ssh-rsa BBBB"}, Disabled: true, Created: at, Modified: at.Add(time.Hour),
			PasswordChanged: at.Add(time.Minute)},
		{UID: "bob", SSHKeys: []string{}, UIDNumber: -1, Created: at.Truncate(time.Second), Modified: at.Add(500 * time.Millisecond)},
		{UID: "zoë", GivenName: "Zoë"},
		{UID: `quote"back\slash`},
		{UID: "a", Mail: "<a&b>@example.com"},
		{UID: "a", DisplayName: "line\nbreak"},
		{UID: "a", SSHKeys: []string{"ok", "tab\there"}},
		{UID: "a", PasswordChanged: at.In(time.FixedZone("x", 3600))},
		{UID: "a", Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		{UID: "smb", SMBFailures: SMBFailures{Count: 3, Last: at, Locked: true}},
	}
	fast := 0
	for _, u := range users {
		want, err := json.Marshal(u)
		if err != nil {
			want = nil
		}
		got, ok := appendUserJSON(nil, &u)
		if !ok {
			continue
		}
		fast++
		if string(got) != string(want) {
			t.Errorf("%+v:\n got %s\nwant %s", u, got, want)
		}
	}
	if fast != 3 {
		t.Errorf("%d of the users took the fast path, want the first 3", fast)
	}
}
