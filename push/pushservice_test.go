package push_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/hkdf"
)

// pushDevice is a browser's side of a subscription: the keys a real
// browser would keep to decrypt what the push service hands it.
type pushDevice struct {
	name string
	key  *ecdh.PrivateKey
	auth []byte
}

func newPushDevice(t testing.TB, name string) *pushDevice {
	t.Helper()
	key, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	auth := make([]byte, 16)
	rand.Read(auth)
	return &pushDevice{name: name, key: key, auth: auth}
}

// subscription is the PushSubscription JSON for this device at svc.
func (dev *pushDevice) subscription(svc *pushService) []byte {
	b, _ := json.Marshal(map[string]any{
		"endpoint": svc.srv.URL + "/push/" + dev.name,
		"keys": map[string]string{
			"p256dh": base64.RawURLEncoding.EncodeToString(dev.key.PublicKey().Bytes()),
			"auth":   base64.RawURLEncoding.EncodeToString(dev.auth),
		},
	})
	return b
}

// pushed is one message the test push service accepted.
type pushed struct {
	device    string
	plaintext []byte
	header    http.Header
	vapidSub  string
}

// pushService is a Web Push service (RFC 8030) on a TLS loopback server. It
// checks the VAPID token (RFC 8292) and decrypts the aes128gcm body
// (RFC 8291) with the device's keys, as the browser would.
type pushService struct {
	t       testing.TB
	srv     *httptest.Server
	vapid   string // the application server key subscriptions were made with
	now     func() time.Time
	mu      sync.Mutex
	devices map[string]*pushDevice
	status  map[string]int // a device answered with this status instead
	got     []pushed
	errs    []error
}

func newPushService(t testing.TB, vapidPublic string) *pushService {
	svc := &pushService{t: t, vapid: vapidPublic, now: time.Now, devices: map[string]*pushDevice{}, status: map[string]int{}}
	svc.srv = httptest.NewTLSServer(http.HandlerFunc(svc.serve))
	t.Cleanup(svc.srv.Close)
	return svc
}

func (svc *pushService) add(dev *pushDevice) []byte {
	svc.mu.Lock()
	defer svc.mu.Unlock()
	svc.devices[dev.name] = dev
	return dev.subscription(svc)
}

func (svc *pushService) messages() []pushed {
	svc.mu.Lock()
	defer svc.mu.Unlock()
	if len(svc.errs) > 0 {
		svc.t.Errorf("push service refused messages: %v", errors.Join(svc.errs...))
		svc.errs = nil
	}
	return append([]pushed(nil), svc.got...)
}

func (svc *pushService) serve(w http.ResponseWriter, r *http.Request) {
	svc.mu.Lock()
	defer svc.mu.Unlock()
	name := strings.TrimPrefix(r.URL.Path, "/push/")
	if code := svc.status[name]; code != 0 {
		w.WriteHeader(code)
		return
	}
	dev := svc.devices[name]
	if r.Method != http.MethodPost || dev == nil {
		http.NotFound(w, r)
		return
	}
	sub, err := svc.checkVAPID(r.Header.Get("Authorization"))
	if err != nil {
		svc.errs = append(svc.errs, fmt.Errorf("VAPID: %w", err))
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	body, _ := io.ReadAll(r.Body)
	plain, err := decryptAES128GCM(body, dev)
	if err != nil {
		svc.errs = append(svc.errs, fmt.Errorf("decrypt: %w", err))
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		svc.errs = append(svc.errs, fmt.Errorf("Content-Encoding %q", ce))
	}
	svc.got = append(svc.got, pushed{device: name, plaintext: plain, header: r.Header.Clone(), vapidSub: sub})
	w.WriteHeader(http.StatusCreated)
}

// checkVAPID verifies "vapid t=<JWT>, k=<public key>" per RFC 8292 and
// returns the token's sub claim.
func (svc *pushService) checkVAPID(h string) (string, error) {
	params, ok := strings.CutPrefix(h, "vapid ")
	if !ok {
		return "", fmt.Errorf("authorization scheme is not vapid: %q", h)
	}
	var token, k string
	for p := range strings.SplitSeq(params, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch name {
		case "t":
			token = value
		case "k":
			k = value
		}
	}
	if k != svc.vapid {
		return "", fmt.Errorf("k is %q, the subscription was made with %q", k, svc.vapid)
	}
	rawKey, err := base64.RawURLEncoding.DecodeString(k)
	if err != nil {
		return "", fmt.Errorf("k: %w", err)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), rawKey)
	if err != nil {
		return "", fmt.Errorf("k: %w", err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", fmt.Errorf("t is not a JWS: %q", token)
	}
	var header struct{ Alg, Typ string }
	if err := decodeJWTPart(parts[0], &header); err != nil || header.Alg != "ES256" {
		return "", fmt.Errorf("JWT header %+v (%v), want alg ES256", header, err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return "", fmt.Errorf("ES256 signature must be 64 bytes r||s (%v)", err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		return "", errors.New("JWT signature does not verify with k")
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	if err := decodeJWTPart(parts[1], &claims); err != nil {
		return "", err
	}
	if claims.Aud != svc.srv.URL {
		return "", fmt.Errorf("aud %q, want the push service origin %q", claims.Aud, svc.srv.URL)
	}
	exp, now := time.Unix(claims.Exp, 0), svc.now()
	if !exp.After(now) || exp.Sub(now) > 24*time.Hour {
		return "", fmt.Errorf("exp %v is not within 24 h of now %v", exp, now)
	}
	if !strings.HasPrefix(claims.Sub, "mailto:") && !strings.HasPrefix(claims.Sub, "https://") {
		return "", fmt.Errorf("sub %q is neither mailto: nor https:", claims.Sub)
	}
	return claims.Sub, nil
}

func decodeJWTPart(part string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}

// decryptAES128GCM opens an RFC 8291 message: the RFC 8188 header (salt,
// record size, the sender's ephemeral key as key id) and one record.
func decryptAES128GCM(body []byte, dev *pushDevice) ([]byte, error) {
	if len(body) < 21 {
		return nil, errors.New("body shorter than the aes128gcm header")
	}
	salt, rs, idlen := body[:16], binary.BigEndian.Uint32(body[16:20]), int(body[20])
	if len(body) < 21+idlen {
		return nil, errors.New("truncated key id")
	}
	asPublic, record := body[21:21+idlen], body[21+idlen:]
	if rs != 2048 {
		return nil, fmt.Errorf("record size %d, want 2048", rs)
	}
	if len(record) > int(rs) {
		return nil, fmt.Errorf("record of %d bytes exceeds rs %d: more than one record", len(record), rs)
	}
	asKey, err := ecdh.P256().NewPublicKey(asPublic)
	if err != nil {
		return nil, fmt.Errorf("sender key: %w", err)
	}
	shared, err := dev.key.ECDH(asKey)
	if err != nil {
		return nil, err
	}
	keyInfo := append(append([]byte("WebPush: info\x00"), dev.key.PublicKey().Bytes()...), asPublic...)
	ikm := expand(hkdf.Extract(sha256.New, shared, dev.auth), keyInfo, 32)
	prk := hkdf.Extract(sha256.New, ikm, salt)
	cek := expand(prk, []byte("Content-Encoding: aes128gcm\x00"), 16)
	nonce := expand(prk, []byte("Content-Encoding: nonce\x00"), 12)
	block, err := aes.NewCipher(cek)
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	plain, err := gcm.Open(nil, nonce, record, nil)
	if err != nil {
		return nil, fmt.Errorf("open record: %w", err)
	}
	// The last record ends with the delimiter 0x02 followed by zero padding.
	end := bytes.LastIndexFunc(plain, func(r rune) bool { return r != 0 })
	if end < 0 || plain[end] != 2 {
		return nil, errors.New("no last-record delimiter")
	}
	return plain[:end], nil
}

func expand(prk, info []byte, n int) []byte {
	out := make([]byte, n)
	if _, err := io.ReadFull(hkdf.Expand(sha256.New, prk, info), out); err != nil {
		panic(err)
	}
	return out
}
