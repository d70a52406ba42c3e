package oidc

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/atrium-dir/atrium/directory"
)

// Secret names of the keyring, as the SAML certificate's: "current"
// signs; "next" is published before it signs (staged); "previous" is the
// key replaced by the last switch, published until the rotation finishes
// so tokens it signed still verify.
const (
	secretKey     = "oidc-signing-key"
	secretNextKey = "oidc-next-key"
	secretPrevKey = "oidc-previous-key"
	// secretTokenKey encrypts the library's opaque access tokens.
	secretTokenKey = "oidc-token-key"
)

// signingKey is an RS256 key; its ID is its RFC 7638 thumbprint.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

// publicKey is a published key.
type publicKey struct{ signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.key.PublicKey }

type keyring struct {
	current        signingKey
	next, previous *signingKey
}

// published lists the keys /keys serves, newest first.
func (k keyring) published() []op.Key {
	var out []op.Key
	for _, s := range []*signingKey{k.next, &k.current, k.previous} {
		if s != nil {
			out = append(out, publicKey{*s})
		}
	}
	return out
}

// keyCache keeps the parsed keyring until the directory writes a secret,
// so a rotation made through the admin socket takes effect at once.
type keyCache struct {
	dir    *directory.Directory
	mu     sync.Mutex
	loaded bool
	gen    uint64
	ring   keyring
}

func (c *keyCache) load(ctx context.Context) (keyring, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	gen := c.dir.SecretsGeneration()
	if c.loaded && gen == c.gen {
		return c.ring, nil
	}
	var ring keyring
	cur, err := readKey(ctx, c.dir, secretKey)
	if err != nil {
		return keyring{}, fmt.Errorf("OIDC signing key: %w", err)
	}
	ring.current = *cur
	if ring.next, err = readKey(ctx, c.dir, secretNextKey); err != nil && !errors.Is(err, directory.ErrNotFound) {
		return keyring{}, fmt.Errorf("staged OIDC signing key: %w", err)
	}
	if ring.previous, err = readKey(ctx, c.dir, secretPrevKey); err != nil && !errors.Is(err, directory.ErrNotFound) {
		return keyring{}, fmt.Errorf("previous OIDC signing key: %w", err)
	}
	c.loaded, c.gen, c.ring = true, gen, ring
	return ring, nil
}

func readKey(ctx context.Context, d *directory.Directory, name string) (*signingKey, error) {
	raw, err := d.Secret(ctx, name)
	if err != nil {
		return nil, err
	}
	b, _ := pem.Decode(raw)
	if b == nil {
		return nil, errors.New("key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("key is not RSA")
	}
	thumb, err := (&jose.JSONWebKey{Key: &rk.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &signingKey{id: base64.RawURLEncoding.EncodeToString(thumb), key: rk}, nil
}

func newKeyPEM() ([]byte, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EnsureKeys creates the signing key and the access-token key on first
// start.
func EnsureKeys(ctx context.Context, d *directory.Directory) error {
	missing := map[string][]byte{}
	for _, name := range []string{secretKey, secretTokenKey} {
		if _, err := d.Secret(ctx, name); errors.Is(err, directory.ErrNotFound) {
			missing[name] = nil
		} else if err != nil {
			return err
		}
	}
	if _, ok := missing[secretKey]; ok {
		k, err := newKeyPEM()
		if err != nil {
			return err
		}
		missing[secretKey] = k
	}
	if _, ok := missing[secretTokenKey]; ok {
		k := make([]byte, 32)
		rand.Read(k)
		missing[secretTokenKey] = k
	}
	if len(missing) == 0 {
		return nil
	}
	return d.PutSecrets(ctx, missing)
}

// Rotation steps, in order: StageKey, SwitchKey, FinishRotation.

// StageKey creates the next signing key and publishes it beside the
// current one. Staging twice is refused.
func StageKey(ctx context.Context, d *directory.Directory) error {
	if _, err := d.Secret(ctx, secretNextKey); err == nil {
		return fmt.Errorf("a new key is already staged; switch to it with 'atrium oidc rotate-key --switch': %w", directory.ErrConflict)
	}
	k, err := newKeyPEM()
	if err != nil {
		return err
	}
	return d.PutSecrets(ctx, map[string][]byte{secretNextKey: k})
}

// SwitchKey signs with the staged key from now on; the old key stays
// published as "previous" until FinishRotation.
func SwitchKey(ctx context.Context, d *directory.Directory) error {
	next, err := d.Secret(ctx, secretNextKey)
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("no key is staged; stage one with 'atrium oidc rotate-key': %w", directory.ErrConflict)
	} else if err != nil {
		return err
	}
	cur, err := d.Secret(ctx, secretKey)
	if err != nil {
		return err
	}
	return d.PutSecrets(ctx, map[string][]byte{secretKey: next, secretPrevKey: cur, secretNextKey: nil})
}

// FinishRotation stops publishing the previous key. Run it once every
// token it signed has expired.
func FinishRotation(ctx context.Context, d *directory.Directory) error {
	if _, err := d.Secret(ctx, secretNextKey); err == nil {
		return fmt.Errorf("a staged key is not in use yet; run 'atrium oidc rotate-key --switch' first: %w", directory.ErrConflict)
	}
	return d.PutSecrets(ctx, map[string][]byte{secretPrevKey: nil})
}
