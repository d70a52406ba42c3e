package directory

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// getUser reads the user record with this ID.
func getUser(tx Tx, id string, u *User) error {
	raw, err := tx.Get(bUsers, id)
	if err != nil {
		return err
	}
	if err := decodeUser(raw, u); err != nil {
		return fmt.Errorf("decode %s/%s: %w", bUsers, id, err)
	}
	return nil
}

// decodeUser reads a user record as putJSON writes it, without
// encoding/json's reflection, which was most of the cost of listing every
// user over LDAP. A record the fast path does not expect (an escaped
// string, a field it does not know, SMB failures) goes to encoding/json
// instead: for any record putJSON writes, the result is json.Unmarshal's.
func decodeUser(raw []byte, u *User) error { return decodeUserText(raw, string(raw), u) }

// decodeUserText is decodeUser of a record given also as text, which the
// strings of u share.
func decodeUserText(raw []byte, text string, u *User) error {
	var fast User
	if utf8.ValidString(text) && (&jsonScan{b: text}).user(&fast) {
		*u = fast
		return nil
	}
	return json.Unmarshal(raw, u)
}

// jsonScan reads the plain JSON of a user record; each method reports
// false on anything it does not handle. The strings it returns share the
// record's one copy.
type jsonScan struct {
	b string
	i int
}

func (s *jsonScan) user(u *User) bool {
	return s.object(func(key string) bool { return s.field(u, key) })
}

// object reads one JSON object, which must be all of the text, handing
// each key to field to read its value.
func (s *jsonScan) object(field func(key string) bool) bool {
	if !s.skip('{') {
		return false
	}
	if s.skip('}') {
		return s.end()
	}
	for {
		key, ok := s.str()
		if !ok || !s.skip(':') || !field(key) {
			return false
		}
		if s.skip('}') {
			return s.end()
		}
		if !s.skip(',') {
			return false
		}
	}
}

func (s *jsonScan) field(u *User, key string) bool {
	var ok bool
	switch key {
	case "id":
		u.ID, ok = s.str()
	case "uid":
		u.UID, ok = s.str()
	case "mail":
		u.Mail, ok = s.str()
	case "givenName":
		u.GivenName, ok = s.str()
	case "sn":
		u.Surname, ok = s.str()
	case "displayName":
		u.DisplayName, ok = s.str()
	case "homeDirectory":
		u.HomeDirectory, ok = s.str()
	case "loginShell":
		u.LoginShell, ok = s.str()
	case "uidNumber":
		u.UIDNumber, ok = s.int()
	case "gidNumber":
		u.GIDNumber, ok = s.int()
	case "sshKeys":
		u.SSHKeys, ok = s.strings()
	case "disabled":
		u.Disabled, ok = s.bool()
	case "created":
		u.Created, ok = s.time()
	case "modified":
		u.Modified, ok = s.time()
	case "passwordChanged":
		u.PasswordChanged, ok = s.time()
	}
	return ok
}

func (s *jsonScan) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// skip passes c, and the white space around it, when it comes next.
func (s *jsonScan) skip(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		s.ws()
		return true
	}
	return false
}

func (s *jsonScan) end() bool { s.ws(); return s.i == len(s.b) }

// str reads a string with no escapes.
func (s *jsonScan) str() (string, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], true
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

// int reads an integer: digits with an optional minus sign.
func (s *jsonScan) int() (int, bool) {
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	if s.i == digits || (s.b[digits] == '0' && s.i-digits > 1) {
		return 0, false
	}
	n, err := strconv.Atoi(s.b[start:s.i])
	return n, err == nil
}

func (s *jsonScan) bool() (bool, bool) {
	for _, lit := range []string{"false", "true"} {
		if len(s.b)-s.i >= len(lit) && s.b[s.i:s.i+len(lit)] == lit {
			s.i += len(lit)
			return lit == "true", true
		}
	}
	return false, false
}

// strings reads an array of strings, or null.
func (s *jsonScan) strings() ([]string, bool) {
	if len(s.b)-s.i >= 4 && s.b[s.i:s.i+4] == "null" {
		s.i += 4
		return nil, true
	}
	if !s.skip('[') {
		return nil, false
	}
	out := []string{}
	if s.skip(']') {
		return out, true
	}
	for {
		v, ok := s.str()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if s.skip(']') {
			return out, true
		}
		if !s.skip(',') {
			return nil, false
		}
	}
}

// time reads a time as time.Time's MarshalJSON writes it.
func (s *jsonScan) time() (time.Time, bool) {
	v, ok := s.str()
	if !ok {
		return time.Time{}, false
	}
	if t, ok := parseUTC(v); ok {
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	return t, err == nil
}

// parseUTC reads the times the store writes, "2006-01-02T15:04:05Z" with
// an optional fraction of a second, without time.Parse's generality (a
// third of the cost of decoding a user). Anything else is left to it.
func parseUTC(v string) (time.Time, bool) {
	if len(v) < 20 || v[4] != '-' || v[7] != '-' || v[10] != 'T' || v[13] != ':' || v[16] != ':' || v[len(v)-1] != 'Z' {
		return time.Time{}, false
	}
	var f [6]int
	for i, at := range [6]int{0, 5, 8, 11, 14, 17} {
		n := 2
		if i == 0 {
			n = 4
		}
		for _, c := range []byte(v[at : at+n]) {
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			f[i] = f[i]*10 + int(c-'0')
		}
	}
	nsec, frac := 0, v[19:len(v)-1]
	if frac != "" {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		for i := 1; i < 10; i++ {
			c := byte('0')
			if i < len(frac) {
				c = frac[i]
			}
			if c < '0' || c > '9' {
				return time.Time{}, false
			}
			nsec = nsec*10 + int(c-'0')
		}
	}
	if f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 59 {
		return time.Time{}, false
	}
	t := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], nsec, time.UTC)
	return t, t.Day() == f[2] // no 31 February
}
