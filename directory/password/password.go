package password

import (
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"math/big"
	"runtime"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Errors of Verify. Compare with errors.Is.
var (
	ErrUnsupportedScheme = errors.New("unsupported password scheme")
	ErrMalformed         = errors.New("malformed password hash")
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultParams suit a small 2-core server: 64 MiB and 3 passes on 2 lanes
// (RFC 9106's second recommendation, scaled to 2 cores) cost tens of
// milliseconds per hash, which makes offline guessing expensive while a
// login stays instant. Repeat LDAP binds do not pay it (see the directory's
// bind cache), and SetConcurrency bounds how many run at once so a burst of
// logins cannot exhaust memory.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 2}

// MinParams are OWASP's minimum for argon2id (Password Storage Cheat
// Sheet): 19 MiB, 2 passes, 1 lane. Configured parameters may not be
// weaker.
var MinParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// CheckStrength refuses parameters below MinParams in any of memory,
// passes or lanes, saying which.
func (p Params) CheckStrength() error {
	if p.Memory < MinParams.Memory || p.Time < MinParams.Time || p.Threads < MinParams.Threads {
		return fmt.Errorf("argon2id m=%d KiB, t=%d, p=%d is below OWASP's minimum of m=%d KiB (19 MiB), t=%d, p=%d",
			p.Memory, p.Time, p.Threads, MinParams.Memory, MinParams.Time, MinParams.Threads)
	}
	return nil
}

// TestParams are tiny parameters for tests in other packages; never use
// them for real passwords.
var TestParams = Params{Memory: 64, Time: 1, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// limit bounds how many argon2 computations and {CRYPT} checks run at
// once. Each argon2 holds its parameters' memory (64 MiB by default) until
// it ends, so the bound on hashes is the bound on hashing memory, and
// hashes waiting for a slot leave the other cores to the requests that
// need no hash. With Workers, it is also the bound on busy workers.
var limit atomic.Pointer[chan struct{}]

func init() { SetConcurrency(0) }

// SetConcurrency sets how many argon2 hashes and {CRYPT} checks may run at
// once: n, or GOMAXPROCS when n <= 0. Those running finish in their slots.
func SetConcurrency(n int) {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	slots := make(chan struct{}, n)
	limit.Store(&slots)
}

// computeArgon2 is argon2 itself; tests count the calls running at once.
var computeArgon2 = func(variant string, pw, salt []byte, p Params, n uint32) []byte {
	if variant == "argon2i" {
		return argon2.Key(pw, salt, p.Time, p.Memory, p.Threads, n)
	}
	return argon2.IDKey(pw, salt, p.Time, p.Memory, p.Threads, n)
}

// argon2Key computes argon2 in one of the limited slots. It forces no
// collection: a collection per hash, over a heap of a large directory,
// cost more than the hash and stopped every other request meanwhile.
func argon2Key(variant string, pw, salt []byte, p Params, n uint32) []byte {
	return compute(&task{Kind: taskArgon2, Password: pw, Variant: variant, Salt: salt, Params: p, KeyLen: n}).Key
}

// compute runs t in one of the limited slots, in a worker process when
// StartWorkers was called.
func compute(t *task) outcome {
	slots := *limit.Load()
	slots <- struct{}{}
	defer func() { <-slots }()
	if w := workers.Load(); w != nil {
		return w.do(t)
	}
	return t.run()
}

// Hasher makes new hashes.
type Hasher struct{ Params Params }

// Hash returns pw hashed with argon2id, as OpenLDAP's {ARGON2} scheme
// writes it: {ARGON2}$argon2id$v=19$m=...,t=...,p=...$salt$key.
func (h *Hasher) Hash(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("salt: %w", err)
	}
	p := h.Params
	key := argon2Key("argon2id", []byte(pw), salt, p, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("{ARGON2}$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// scheme splits "{SCHEME}rest" into the upper-cased scheme and the rest.
func scheme(stored string) (string, string, bool) {
	if !strings.HasPrefix(stored, "{") {
		return "", "", false
	}
	end := strings.IndexByte(stored, '}')
	if end < 0 {
		return "", "", false
	}
	return strings.ToUpper(stored[1:end]), stored[end+1:], true
}

// HasScheme reports whether v has the form of a hash, "{SCHEME}rest", as
// LDAP clients send one in userPassword.
func HasScheme(v string) bool {
	s, _, ok := scheme(v)
	return ok && s != "" && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == ""
}

// Verify reports whether pw matches the stored hash. Stored values without
// a recognised scheme (cleartext among them) are never accepted.
func Verify(stored, pw string) (bool, error) {
	s, rest, ok := scheme(stored)
	if !ok {
		return false, ErrUnsupportedScheme
	}
	if s == "ARGON2" {
		return verifyArgon2(rest, pw)
	}
	if s == "CRYPT" {
		return verifyCrypt(rest, pw)
	}
	sh, found := saltedSchemes[s]
	if !found {
		return false, fmt.Errorf("{%s}: %w", s, ErrUnsupportedScheme)
	}
	raw, err := parseSalted(sh, rest)
	if err != nil {
		return false, err
	}
	h := sh.newHash()
	size := h.Size()
	h.Write([]byte(pw))
	h.Write(raw[size:])
	return subtle.ConstantTimeCompare(h.Sum(nil), raw[:size]) == 1, nil
}

// Check parses a stored hash without verifying a password against it: nil
// when Verify can use it, else ErrUnsupportedScheme or ErrMalformed with
// what is wrong. A hash given by an admin or an import passes here before
// it is stored, so that a typo cannot lock its user out.
func Check(stored string) error {
	s, rest, ok := scheme(stored)
	if !ok {
		return ErrUnsupportedScheme
	}
	if s == "ARGON2" {
		_, err := parseArgon2(rest)
		return err
	}
	if s == "CRYPT" {
		return checkCrypt(rest)
	}
	sh, found := saltedSchemes[s]
	if !found {
		return fmt.Errorf("{%s}: %w", s, ErrUnsupportedScheme)
	}
	_, err := parseSalted(sh, rest)
	return err
}

// saltedScheme is one of the {SHA...} schemes: a digest of the password
// and the salt, followed by the salt, in base64.
type saltedScheme struct {
	newHash func() hash.Hash
	salted  bool
}

var saltedSchemes = map[string]saltedScheme{
	"SSHA": {sha1.New, true}, "SSHA256": {sha256.New, true}, "SSHA512": {sha512.New, true},
	"SHA": {sha1.New, false}, "SHA256": {sha256.New, false}, "SHA512": {sha512.New, false},
}

// minSalt is the shortest salt accepted: slappasswd writes 4 bytes.
const minSalt = 4

func parseSalted(sh saltedScheme, b64 string) ([]byte, error) {
	raw, err := base64.StdEncoding.Strict().DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w (not base64)", ErrMalformed)
	}
	size := sh.newHash().Size()
	switch {
	case !sh.salted && len(raw) != size:
		return nil, fmt.Errorf("%w (%d bytes, want a %d-byte digest)", ErrMalformed, len(raw), size)
	case sh.salted && len(raw) < size+minSalt:
		return nil, fmt.Errorf("%w (%d bytes, want a %d-byte digest and a salt of at least %d)", ErrMalformed, len(raw), size, minSalt)
	}
	return raw, nil
}

func verifyCrypt(c, pw string) (bool, error) {
	if err := checkCrypt(c); err != nil {
		return false, err
	}
	o := compute(&task{Kind: taskCrypt, Password: []byte(pw), Hash: c})
	if o.Err != "" {
		return false, fmt.Errorf("%w: %s", ErrMalformed, o.Err)
	}
	return o.Match, nil
}

func isBcrypt(c string) bool {
	return strings.HasPrefix(c, "$2a$") || strings.HasPrefix(c, "$2b$") || strings.HasPrefix(c, "$2y$")
}

// checkCrypt accepts bcrypt and glibc's sha256-crypt and sha512-crypt.
func checkCrypt(c string) error {
	const cryptAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	switch {
	case isBcrypt(c):
		if _, err := bcrypt.Cost([]byte(c)); err != nil || len(c) != 60 {
			return fmt.Errorf("%w (not a bcrypt hash)", ErrMalformed)
		}
		return nil
	case strings.HasPrefix(c, "$5$"), strings.HasPrefix(c, "$6$"):
		digest := c[strings.LastIndexByte(c, '$')+1:]
		want := map[byte]int{'5': 43, '6': 86}[c[1]]
		if len(digest) != want || strings.Count(c, "$") < 3 || strings.Trim(digest, cryptAlphabet) != "" {
			return fmt.Errorf("%w (want a %d-character digest after the salt)", ErrMalformed, want)
		}
		return nil
	}
	return fmt.Errorf("{CRYPT} variant: %w", ErrUnsupportedScheme)
}

type argon2Hash struct {
	variant   string
	p         Params
	salt, key []byte
}

func parseArgon2(rest string) (argon2Hash, error) {
	parts := strings.Split(rest, "$")
	// "", variant, v=19, m=..,t=..,p=.., salt, key
	if len(parts) != 6 || parts[0] != "" || (parts[1] != "argon2id" && parts[1] != "argon2i") {
		return argon2Hash{}, ErrMalformed
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return argon2Hash{}, ErrMalformed
	}
	var h argon2Hash
	h.variant = parts[1]
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.p.Memory, &h.p.Time, &threads); err != nil {
		return argon2Hash{}, ErrMalformed
	}
	// Refuse parameters that would let a crafted hash exhaust the server.
	if h.p.Time == 0 || h.p.Time > 64 || threads == 0 || threads > 64 || h.p.Memory < 8*threads || h.p.Memory > 4*1024*1024 {
		return argon2Hash{}, ErrMalformed
	}
	h.p.Threads = uint8(threads)
	var err error
	b64 := base64.RawStdEncoding
	if h.salt, err = b64.DecodeString(strings.TrimRight(parts[4], "=")); err != nil || len(h.salt) < 8 {
		return argon2Hash{}, ErrMalformed
	}
	if h.key, err = b64.DecodeString(strings.TrimRight(parts[5], "=")); err != nil || len(h.key) < 16 || len(h.key) > 128 {
		return argon2Hash{}, ErrMalformed
	}
	return h, nil
}

func verifyArgon2(rest, pw string) (bool, error) {
	h, err := parseArgon2(rest)
	if err != nil {
		return false, err
	}
	got := argon2Key(h.variant, []byte(pw), h.salt, h.p, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1, nil
}

// NeedsUpgrade reports whether stored should be re-hashed with p after the
// next successful login: every scheme but argon2id, and argon2id with other
// parameters.
func NeedsUpgrade(stored string, p Params) bool {
	s, rest, ok := scheme(stored)
	if !ok || s != "ARGON2" {
		return true
	}
	h, err := parseArgon2(rest)
	return err != nil || h.variant != "argon2id" || h.p != p
}

const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

// Generate returns a random password of n characters (24 when n <= 0) from
// an alphabet without look-alike characters.
func Generate(n int) string {
	if n <= 0 {
		n = 24
	}
	max := big.NewInt(int64(len(alphabet)))
	b := make([]byte, n)
	for i := range b {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic("crypto/rand failed: " + err.Error())
		}
		b[i] = alphabet[v.Int64()]
	}
	return string(b)
}
