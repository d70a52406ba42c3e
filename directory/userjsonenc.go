package directory

import (
	"strconv"
	"time"
)

// appendUserJSON appends u as json.Marshal writes it, without reflection
// (a third of the cost of creating a user in an import), and reports false
// for a user it leaves to json.Marshal: strings that need escaping, times
// not in UTC or outside years 0-9999, SMB failures.
func appendUserJSON(b []byte, u *User) ([]byte, bool) {
	if u.SMBFailures != (SMBFailures{}) {
		return b, false
	}
	ok := true
	str := func(name, v string, omitEmpty bool) {
		if omitEmpty && v == "" {
			return
		}
		b = append(append(append(b, ',', '"'), name...), '"', ':', '"')
		ok = ok && plainJSON(v)
		b = append(append(b, v...), '"')
	}
	num := func(name string, n int) {
		b = append(append(append(b, ',', '"'), name...), '"', ':')
		b = strconv.AppendInt(b, int64(n), 10)
	}
	at := func(name string, t time.Time) {
		b = append(append(append(b, ',', '"'), name...), '"', ':', '"')
		ok = ok && t.Location() == time.UTC && t.Year() >= 0 && t.Year() <= 9999
		b = append(t.AppendFormat(b, time.RFC3339Nano), '"')
	}
	b = append(b, `{"id":"`...)
	ok = plainJSON(u.ID)
	b = append(append(b, u.ID...), '"')
	str("uid", u.UID, false)
	str("mail", u.Mail, false)
	str("givenName", u.GivenName, true)
	str("sn", u.Surname, true)
	str("displayName", u.DisplayName, true)
	num("uidNumber", u.UIDNumber)
	num("gidNumber", u.GIDNumber)
	str("homeDirectory", u.HomeDirectory, false)
	str("loginShell", u.LoginShell, false)
	if len(u.SSHKeys) > 0 {
		b = append(b, `,"sshKeys":[`...)
		for i, k := range u.SSHKeys {
			if i > 0 {
				b = append(b, ',')
			}
			ok = ok && plainJSON(k)
			b = append(append(append(b, '"'), k...), '"')
		}
		b = append(b, ']')
	}
	if u.Disabled {
		b = append(b, `,"disabled":true`...)
	}
	at("created", u.Created)
	at("modified", u.Modified)
	if !u.PasswordChanged.IsZero() {
		at("passwordChanged", u.PasswordChanged)
	}
	return append(b, '}'), ok
}

// plainJSON reports whether json.Marshal writes s as it is between quotes:
// printable ASCII other than '"', '\\' and the HTML characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}
