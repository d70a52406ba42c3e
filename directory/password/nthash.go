package password

import (
	"encoding/hex"
	"strings"
	"unicode/utf16"

	"golang.org/x/crypto/md4" //nolint:staticcheck // MD4 is what the NT hash is.
)

// NTHash is the Samba/Windows NT hash of pw: MD4 of its UTF-16LE encoding.
func NTHash(pw string) []byte {
	units := utf16.Encode([]rune(pw))
	buf := make([]byte, 2*len(units))
	for i, u := range units {
		buf[2*i] = byte(u)
		buf[2*i+1] = byte(u >> 8)
	}
	h := md4.New()
	h.Write(buf)
	return h.Sum(nil)
}

// NTHashHex is NTHash in upper-case hex, as sambaNTPassword holds it.
func NTHashHex(pw string) string {
	return strings.ToUpper(hex.EncodeToString(NTHash(pw)))
}
