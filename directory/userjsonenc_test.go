package directory

import (
	"encoding/json"
	"reflect"
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

// TestUserCodecsKnowEveryField: a user with every field set (but the
// ones the fast paths leave to encoding/json) is written and read by the
// hand-written encoder and decoder exactly as encoding/json does. A field
// added to User without teaching them fails here.
func TestUserCodecsKnowEveryField(t *testing.T) {
	var u User
	v := reflect.ValueOf(&u).Elem()
	for i := range v.NumField() {
		if v.Type().Field(i).Name == "SMBFailures" {
			continue
		}
		fillField(t, v.Field(i), v.Type().Field(i).Name)
	}
	want, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := appendUserJSON(nil, &u)
	if !ok || string(got) != string(want) {
		t.Errorf("the encoder wrote (fast path %v)\n%s\nencoding/json\n%s", ok, got, want)
	}
	var back User
	if !(&jsonScan{b: string(want)}).user(&back) || !reflect.DeepEqual(back, u) {
		t.Errorf("the decoder read %+v from %s", back, want)
	}
}

func fillField(t *testing.T, f reflect.Value, name string) {
	switch f.Interface().(type) {
	case string:
		f.SetString(name + "-value")
	case int:
		f.SetInt(4242)
	case bool:
		f.SetBool(true)
	case []string:
		f.Set(reflect.ValueOf([]string{name + "-1", name + "-2"}))
	case time.Time:
		f.Set(reflect.ValueOf(time.Date(2026, 12, 5, 1, 2, 3, 0, time.UTC)))
	default:
		t.Fatalf("User.%s has a type this test cannot fill: teach it, and the user codecs in userjson.go and userjsonenc.go", name)
	}
}
