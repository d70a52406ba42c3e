package password

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// Known hashes of "correct horse", as slappasswd, glibc crypt (openssl
// passwd -5/-6) and htpasswd -B write them.
var vectors = map[string]string{
	"SSHA slappasswd": "{SSHA}Y/GISWxlFJgMboVMZFMyhlw/Og+0xKSt",
	"SSHA":            "{SSHA}NSZEu/ZzEMKdBO5ESNEYml3qKRYBAgMEBQYHCA==",
	"SSHA256":         "{SSHA256}CFsq5JPfiBQ0W3uR5Dnao+9mknEq9a739V+FPkJ6yjABAgMEBQYHCA==",
	"SSHA512":         "{SSHA512}ggObOJHDWCqgI5uFv/j9yDNYMvdTgt+Toj8d6cGrSG/e+E9GbH4DkQ8y5jY3NblhoGens+zNVX1mZaFy0qwRwwECAwQFBgcI",
	"sha256-crypt":    "{CRYPT}$5$saltsalt$myjXcpMpE2Ofk7fj9hqyNYSn6lmWG4Mqnjx.KIRRr4/",
	"sha512-crypt":    "{CRYPT}$6$saltsalt$hRM5XZ86KXEw9UOmjigeVqFgULtFB2sgpC9lXQDfMib3Zgw7mEiUvBJI2EplzfAqxL5Vvwp2scFtv/uamSo5z0",
	"bcrypt 2b":       "{CRYPT}$2b$04$/t7c7W5ycQAddJqCndL8N.jpBpMIpQ0TK0GTpd4aHJPDuI7KGb34i",
	"bcrypt 2y":       "{crypt}$2y$04$/t7c7W5ycQAddJqCndL8N.jpBpMIpQ0TK0GTpd4aHJPDuI7KGb34i",
}

func TestImportedSchemes(t *testing.T) {
	for name, stored := range vectors {
		t.Run(name, func(t *testing.T) {
			if err := Check(stored); err != nil {
				t.Fatalf("Check: %v", err)
			}
			if ok, err := Verify(stored, "correct horse"); !ok || err != nil {
				t.Fatalf("right password: %v %v", ok, err)
			}
			if ok, err := Verify(stored, "correct horsE"); ok || err != nil {
				t.Fatalf("wrong password: %v %v", ok, err)
			}
			if !NeedsUpgrade(stored, DefaultParams) {
				t.Error("imported scheme does not ask for an upgrade")
			}
		})
	}
}

func TestArgon2RoundTrip(t *testing.T) {
	h := &Hasher{Params: TestParams}
	stored, err := h.Hash("s3cret pass")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "{ARGON2}$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("format: %s", stored)
	}
	if ok, err := Verify(stored, "s3cret pass"); !ok || err != nil {
		t.Fatalf("verify: %v %v", ok, err)
	}
	if ok, _ := Verify(stored, "s3cret pasS"); ok {
		t.Fatal("wrong password verified")
	}
	if NeedsUpgrade(stored, TestParams) {
		t.Error("fresh hash wants an upgrade")
	}
	if !NeedsUpgrade(stored, DefaultParams) {
		t.Error("hash with other parameters does not want an upgrade")
	}
	other, _ := h.Hash("s3cret pass")
	if other == stored {
		t.Error("two hashes of one password are equal: salt not random")
	}
}

func TestMalformed(t *testing.T) {
	for _, stored := range []string{
		"", "secret", "{CLEARTEXT}secret", "{MD5}xxx", "{SSHA}!!!notbase64", "{SSHA}c2hvcnQ=",
		"{ARGON2}$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ", "{ARGON2}$argon2id$v=19$m=999999999,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5",
		"{CRYPT}$1$md5$x", "{CRYPT}$6$", "{CRYPT}$2b$04$short",
		"{SSHA}xxxx", "{SSHA}NSZEu/ZzEMKdBO5ESNEYml3qKRY=", "{SHA}NSZEu/ZzEMKdBO5ESNEYml3qKRYBAgMEBQYHCA==",
		"{CRYPT}$6$saltsalt$" + strings.Repeat("!", 86),
	} {
		if err := Check(stored); err == nil {
			t.Errorf("Check(%q) = nil; want an error", stored)
		}
		ok, err := Verify(stored, "secret")
		if ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want an error", stored, ok, err)
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedScheme) {
			t.Errorf("Verify(%q) error %v is neither sentinel", stored, err)
		}
	}
}

func TestNTHash(t *testing.T) {
	// The published NT hash of "password".
	if got := NTHashHex("password"); got != "8846F7EAEE8FB117AD06BDD830B7586C" {
		t.Fatalf("NTHash(password) = %s", got)
	}
}

func TestGenerate(t *testing.T) {
	a, b := Generate(0), Generate(0)
	if len(a) != 24 || a == b {
		t.Fatalf("Generate: %q %q", a, b)
	}
}

func FuzzVerify(f *testing.F) {
	for _, v := range vectors {
		f.Add(v, "correct horse")
	}
	f.Add("{ARGON2}$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5", "x")
	f.Fuzz(func(t *testing.T, stored, pw string) {
		if cheapToVerify(stored) {
			Verify(stored, pw)
		}
		NeedsUpgrade(stored, DefaultParams)
		Check(stored)
	})
}

// cheapToVerify leaves out of the fuzzing the hashes that are valid but
// costly by design (argon2 with up to 4 GiB and 64 passes, bcrypt up to
// cost 31, sha-crypt with a billion rounds): one of them outlasts the
// fuzzing time on its own.
func cheapToVerify(stored string) bool {
	s, rest, ok := scheme(stored)
	switch {
	case ok && s == "ARGON2":
		h, err := parseArgon2(rest)
		return err != nil || uint64(h.p.Memory)*uint64(h.p.Time) <= 64<<10
	case ok && s == "CRYPT" && isBcrypt(rest):
		cost, err := bcrypt.Cost([]byte(rest))
		return err != nil || cost <= 6
	case ok && s == "CRYPT":
		fields := strings.Split(rest, "$")
		if len(fields) > 2 && strings.HasPrefix(fields[2], "rounds=") {
			rounds, err := strconv.Atoi(strings.TrimPrefix(fields[2], "rounds="))
			return err != nil || rounds <= 10000
		}
	}
	return true
}
