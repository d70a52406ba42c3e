package totp

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"image/png"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// Parameters every authenticator app understands; others are ignored by
// Google Authenticator and many more, so Atrium never varies them.
const (
	Period     = 30 * time.Second
	Digits     = 6
	SecretSize = 20 // 160 bits
	// Skew is how many steps before and after now a code may belong to.
	Skew = 1
)

// NewSecret returns a random 160-bit secret.
func NewSecret() ([]byte, error) {
	s := make([]byte, SecretSize)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("totp secret: %w", err)
	}
	return s, nil
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// EncodeSecret is the secret as people type it and oathtool -b reads it.
func EncodeSecret(secret []byte) string { return b32.EncodeToString(secret) }

// SpacedSecret is EncodeSecret in groups of four, easier to read and type.
func SpacedSecret(secret []byte) string {
	s := EncodeSecret(secret)
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// URI is the otpauth:// address a QR code carries.
func URI(issuer, account string, secret []byte) string {
	v := url.Values{}
	v.Set("secret", EncodeSecret(secret))
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", fmt.Sprint(Digits))
	v.Set("period", fmt.Sprint(int(Period.Seconds())))
	return "otpauth://totp/" + url.PathEscape(issuer) + ":" + url.PathEscape(account) + "?" + v.Encode()
}

// QRCode renders uri as a PNG of about size pixels.
func QRCode(uri string, size int) ([]byte, error) {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, fmt.Errorf("totp uri: %w", err)
	}
	img, err := key.Image(size, size)
	if err != nil {
		return nil, fmt.Errorf("qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Step is the counter of the 30-second step t falls in.
func Step(t time.Time) int64 { return t.Unix() / int64(Period.Seconds()) }

// CodeAt is the code of one step.
func CodeAt(secret []byte, step int64) (string, error) {
	return hotp.GenerateCodeCustom(EncodeSecret(secret), uint64(step), hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
}

// Match returns the step within ±Skew of now whose code is code, if that
// step is later than lastUsed (so a code is accepted once). Every candidate
// is compared in constant time.
func Match(secret []byte, code string, now time.Time, lastUsed int64) (step int64, ok bool) {
	if len(code) != Digits {
		return 0, false
	}
	current := Step(now)
	for s := current - Skew; s <= current+Skew; s++ {
		want, err := CodeAt(secret, s)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > lastUsed && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}
