package directory_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// The policy refuses short passwords, the shipped common ones (also with
// digits and symbols added), repeated and sequential characters, and, for
// a password the user chooses, their own names; it accepts the rest.
func TestPasswordPolicy(t *testing.T) {
	d := newTestDir(t, nil, directory.Options{})
	u := directory.User{UID: "jsmith", GivenName: "Jonathan", Surname: "Ngo", Mail: "jon.smith@example.com"}
	refused := []string{"short", "password", "Password", "123456789", "qwertyuiop", "P@ssw0rd", "dragon2024!", "letmein!!", "Sunshine1",
		"aaaaaaaa", "abcdefgh", "98765432", "abcabcabc", "12121212"}
	for _, pw := range refused {
		if err := d.CheckPasswordPolicy(pw); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("policy accepts %q: %v", pw, err)
		}
	}
	own := []string{"jsmith-rocks", "my name is JONATHAN", "jon.smith!", "ngo2024!", "ilovejon.smith"}
	for _, pw := range own {
		if err := d.CheckPasswordPolicy(pw); err != nil {
			t.Errorf("policy refuses %q without the names: %v", pw, err)
		}
		if err := d.CheckOwnPassword(pw, u); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("%s may choose %q, which holds their name: %v", u.UID, pw, err)
		}
	}
	for _, pw := range []string{"correct horse battery staple", "Tr0ub4dor&3", "sleepless-night", "passwordless login is nice"} {
		if err := d.CheckOwnPassword(pw, u); err != nil {
			t.Errorf("policy refuses %q: %v", pw, err)
		}
	}
}

// SetOwnPassword applies the names rule on a real store and changes
// nothing when it refuses; SetPassword (an admin's) applies the rest.
func TestSetOwnPassword(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	_, err := d.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com", GivenName: "Alice", Surname: "Liddell"})
	must(t, err)
	must(t, d.SetPassword(ctx, "alice", "first correct horse"))
	if err := d.SetOwnPassword(ctx, "alice", "liddell-rules"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("alice set her surname as password: %v", err)
	}
	if err := d.SetPassword(ctx, "alice", "iloveyou1"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("an admin set a common password: %v", err)
	}
	if _, err := d.Authenticate(ctx, directory.Login{Name: "alice", Password: "first correct horse"}); err != nil {
		t.Errorf("the refused changes changed the password: %v", err)
	}
	must(t, d.SetOwnPassword(ctx, "alice", "through the looking glass"))
	if _, err := d.Authenticate(ctx, directory.Login{Name: "alice", Password: "through the looking glass"}); err != nil {
		t.Errorf("the accepted password does not work: %v", err)
	}
}

// The shipped list holds Openwall's public-domain list (John the Ripper's
// password.lst): its entries the list Atrium wrote lacked are refused,
// with suffixes too; so is a password on the admin's own list.
func TestCommonPasswordLists(t *testing.T) {
	d := newTestDir(t, nil, directory.Options{RefusedPasswords: []string{"Correct-Horse-Atrium"}})
	for _, pw := range []string{"flamingo", "Snowball", "sunflower7!", "thunderbird", "correct-horse-atrium", "correct-horse-atrium2"} {
		if err := d.CheckPasswordPolicy(pw); !errors.Is(err, directory.ErrInvalid) || !strings.Contains(err.Error(), "commonly used") {
			t.Errorf("policy accepts %q: %v", pw, err)
		}
	}
	if err := newTestDir(t, nil, directory.Options{}).CheckPasswordPolicy("correct-horse-atrium"); err != nil {
		t.Errorf("a password on no list is refused: %v", err)
	}
}

// ReadPasswordList skips comments and blank lines and ignores case.
func TestReadPasswordList(t *testing.T) {
	path := filepath.Join(t.TempDir(), "refused.txt")
	must(t, os.WriteFile(path, []byte("# ours\nAcmeCorp2024\n\n  hunter-two  \nacmecorp2024\n"), 0o600))
	got, err := directory.ReadPasswordList(path)
	if err != nil || !slices.Equal(got, []string{"acmecorp2024", "hunter-two"}) {
		t.Errorf("read %q, %v", got, err)
	}
	if _, err := directory.ReadPasswordList(path + ".missing"); err == nil {
		t.Error("a missing list is read")
	}
}
