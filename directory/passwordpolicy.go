package directory

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The password policy, after NIST SP 800-63B (5.1.1.2): a minimum length,
// no password from a list of commonly chosen ones, no repeated or
// sequential characters, and, for a password people choose for
// themselves, none of their own names. No composition rules and no
// expiry: the guidance found both make passwords weaker.

//go:embed common-passwords.txt
var commonPasswordsFile string

// commonPasswords is the shipped list, lowercase.
var commonPasswords = readPasswordList(strings.NewReader(commonPasswordsFile))

// ReadPasswordList reads a list of passwords to refuse, one a line, such
// as the configuration's password.refused_file. Blank lines and lines
// starting with # are skipped; case is ignored.
func ReadPasswordList(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("password list: %w", err)
	}
	defer f.Close()
	set := readPasswordList(f)
	return slices.Sorted(maps.Keys(set)), nil
}

func readPasswordList(r io.Reader) map[string]bool {
	out := map[string]bool{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out[strings.ToLower(line)] = true
		}
	}
	return out
}

func refusedSet(pws []string) map[string]bool {
	out := make(map[string]bool, len(pws))
	for _, pw := range pws {
		out[strings.ToLower(pw)] = true
	}
	return out
}

// CheckPasswordPolicy says why pw cannot be set, or returns nil: shorter
// than password.min_length, on the shipped list of common passwords or
// the admin's own (also with digits or symbols added at its end), or a
// run of repeated or sequential characters.
func (d *Directory) CheckPasswordPolicy(pw string) error {
	if minLen := d.current().MinPasswordLength; utf8.RuneCountInString(pw) < minLen {
		return fmt.Errorf("a password needs at least %d characters: %w", minLen, ErrInvalid)
	}
	lower := strings.ToLower(pw)
	st := stem(lower)
	if commonPasswords[lower] || commonPasswords[st] || d.refused[lower] || d.refused[st] {
		return fmt.Errorf("this password is one of the most commonly used, which attackers try first; choose another: %w", ErrInvalid)
	}
	if sequential(lower) {
		return fmt.Errorf("a password of repeated or sequential characters is guessed at once; choose another: %w", ErrInvalid)
	}
	return nil
}

// CheckOwnPassword is CheckPasswordPolicy for a password u chooses for
// themselves, which also may not contain their uid, given name, surname
// or the local part of their mail address.
func (d *Directory) CheckOwnPassword(pw string, u User) error {
	if err := d.CheckPasswordPolicy(pw); err != nil {
		return err
	}
	lower := strings.ToLower(pw)
	local, _, _ := strings.Cut(u.Mail, "@")
	for _, name := range []string{u.UID, u.GivenName, u.Surname, local} {
		name = strings.ToLower(strings.TrimSpace(name))
		// Short names only when they are the whole password: "lee"
		// inside "sleepless-night" says nothing about the user.
		if len(name) >= 4 && strings.Contains(lower, name) || name != "" && stem(lower) == name {
			return fmt.Errorf("a password may not contain your own name or user name; choose another: %w", ErrInvalid)
		}
	}
	return nil
}

// SetOwnPassword is SetPassword for a password the user named uid chose
// for themselves (self-service, an invite, an LDAP password change of
// their own), checked with CheckOwnPassword.
func (d *Directory) SetOwnPassword(ctx context.Context, uid, pw string) error {
	u, err := d.User(ctx, uid)
	if err != nil {
		return err
	}
	if err := d.CheckOwnPassword(pw, u); err != nil {
		return err
	}
	return d.SetPassword(ctx, uid, pw)
}

// stem is s without the digits and symbols at its end.
func stem(s string) string {
	return strings.TrimRightFunc(s, func(r rune) bool { return !unicode.IsLetter(r) }) + digitsOnly(s)
}

// digitsOnly keeps an all-digit password whole, since its stem would be
// empty and match nothing.
func digitsOnly(s string) string {
	if strings.IndexFunc(s, unicode.IsLetter) < 0 {
		return s
	}
	return ""
}

// sequential reports whether s is one character repeated, a run such as
// "abcdefgh" or "98765432", or a unit of up to four characters repeated
// ("abcabcabc", "12121212").
func sequential(s string) bool {
	rs := []rune(s)
	step := rs[1] - rs[0]
	run := step >= -1 && step <= 1
	for i := 2; run && i < len(rs); i++ {
		run = rs[i]-rs[i-1] == step
	}
	if run {
		return true
	}
	for unit := 1; unit <= 4 && unit <= len(rs)/2; unit++ {
		if len(rs)%unit == 0 && strings.Repeat(string(rs[:unit]), len(rs)/unit) == s {
			return true
		}
	}
	return false
}
