package passkey

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
)

// softKey is a software authenticator holding one ES256 credential: what a
// security key does, written out so the ceremonies can be tested without a
// browser. The browser test drives Chromium's own virtual authenticator.
type softKey struct {
	t       testing.TB
	priv    *ecdsa.PrivateKey
	id      []byte
	handle  []byte // user handle stored at registration
	counter uint32
	origin  string
	rpID    string
	// verified sets the UV flag (a PIN or biometric was checked).
	verified bool
}

func newSoftKey(t testing.TB, origin, rpID string) *softKey {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	rand.Read(id)
	return &softKey{t: t, priv: priv, id: id, origin: origin, rpID: rpID, verified: true}
}

const (
	flagUP = 0x01
	flagUV = 0x04
	flagAT = 0x40
)

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (k *softKey) clientData(typ string, challenge []byte) []byte {
	raw, err := json.Marshal(map[string]any{"type": typ, "challenge": b64(challenge), "origin": k.origin, "crossOrigin": false})
	if err != nil {
		k.t.Fatal(err)
	}
	return raw
}

// authData is the authenticator data: the RP ID hash, flags, counter and,
// at registration, the attested credential.
func (k *softKey) authData(attested []byte) []byte {
	rp := sha256.Sum256([]byte(k.rpID))
	flags := byte(flagUP)
	if k.verified {
		flags |= flagUV
	}
	if attested != nil {
		flags |= flagAT
	}
	out := append(rp[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.counter)
	return append(out, attested...)
}

// create answers a registration ceremony's options, as the browser would
// post them.
func (k *softKey) create(c Challenge) []byte {
	k.t.Helper()
	opts := c.Options.(*protocol.CredentialCreation).Response
	switch id := opts.User.ID.(type) {
	case protocol.URLEncodedBase64:
		k.handle = id
	case string: // options that went through JSON
		handle, err := base64.RawURLEncoding.DecodeString(id)
		if err != nil {
			k.t.Fatal(err)
		}
		k.handle = handle
	}
	cose, err := webauthncbor.Marshal(webauthncose.EC2PublicKeyData{
		PublicKeyData: webauthncose.PublicKeyData{KeyType: int64(webauthncose.EllipticKey), Algorithm: int64(webauthncose.AlgES256)},
		Curve:         1, // P-256
		XCoord:        k.priv.X.FillBytes(make([]byte, 32)),
		YCoord:        k.priv.Y.FillBytes(make([]byte, 32)),
	})
	if err != nil {
		k.t.Fatal(err)
	}
	attested := make([]byte, 16) // AAGUID: none
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(k.id)))
	attested = append(append(attested, k.id...), cose...)
	obj, err := webauthncbor.Marshal(struct {
		Fmt      string         `cbor:"fmt"`
		AttStmt  map[string]any `cbor:"attStmt"`
		AuthData []byte         `cbor:"authData"`
	}{"none", map[string]any{}, k.authData(attested)})
	if err != nil {
		k.t.Fatal(err)
	}
	return k.response(map[string]any{
		"clientDataJSON":    b64(k.clientData("webauthn.create", opts.Challenge)),
		"attestationObject": b64(obj),
	})
}

// get answers a sign-in ceremony's options with the next counter value.
func (k *softKey) get(c Challenge) []byte {
	k.t.Helper()
	k.counter++
	return k.sign(c.Options.(*protocol.CredentialAssertion).Response.Challenge)
}

// sign answers challenge with the current counter value.
func (k *softKey) sign(challenge []byte) []byte {
	k.t.Helper()
	cd := k.clientData("webauthn.get", challenge)
	ad := k.authData(nil)
	sum := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	return k.response(map[string]any{
		"clientDataJSON":    b64(cd),
		"authenticatorData": b64(ad),
		"signature":         b64(sig),
		"userHandle":        b64(k.handle),
	})
}

func (k *softKey) response(r map[string]any) []byte {
	raw, err := json.Marshal(map[string]any{
		"id": b64(k.id), "rawId": b64(k.id), "type": "public-key",
		"response": r, "clientExtensionResults": map[string]any{},
	})
	if err != nil {
		k.t.Fatal(err)
	}
	return raw
}
