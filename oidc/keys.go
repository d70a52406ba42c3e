package oidc

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/atrium-dir/atrium/directory"
)

// The keyring holds one key of each algorithm in each of the SAML
// certificate's three places: "current" signs; "next" is published before
// it signs (staged); "previous" is the key replaced by the last switch,
// published until the rotation finishes so tokens it signed still verify.
// Both algorithms rotate together.
type slot struct{ current, next, previous string }

var slots = map[jose.SignatureAlgorithm]slot{
	jose.RS256: {"oidc-signing-key", "oidc-next-key", "oidc-previous-key"},
	jose.ES256: {"oidc-es256-signing-key", "oidc-es256-next-key", "oidc-es256-previous-key"},
}

// algorithms in the order discovery lists them: RS256 is the default.
var algorithms = []jose.SignatureAlgorithm{jose.RS256, jose.ES256}

// secretTokenKey encrypts the library's opaque access tokens and codes.
const secretTokenKey = "oidc-token-key"

// signingKey is a private key; its ID is its RFC 7638 thumbprint.
type signingKey struct {
	id  string
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return k.alg }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.id }

// publicKey is a published key.
type publicKey struct{ signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key.Public() }

type keyring struct {
	current        map[jose.SignatureAlgorithm]signingKey
	next, previous []signingKey
}

// published lists the keys /keys serves, newest first.
func (k keyring) published() []op.Key {
	var out []op.Key
	for _, s := range k.next {
		out = append(out, publicKey{s})
	}
	for _, alg := range algorithms {
		out = append(out, publicKey{k.current[alg]})
	}
	for _, s := range k.previous {
		out = append(out, publicKey{s})
	}
	return out
}

// loadKeyring parses every signing key; a directory.SecretsCache keeps the
// result until the next secret write.
func loadKeyring(ctx context.Context, d *directory.Directory) (keyring, error) {
	ring := keyring{current: map[jose.SignatureAlgorithm]signingKey{}}
	for _, alg := range algorithms {
		s := slots[alg]
		cur, err := readKey(ctx, d, s.current, alg)
		if err != nil {
			return keyring{}, fmt.Errorf("OIDC %s signing key: %w", alg, err)
		}
		ring.current[alg] = *cur
		for name, into := range map[string]*[]signingKey{s.next: &ring.next, s.previous: &ring.previous} {
			k, err := readKey(ctx, d, name, alg)
			if errors.Is(err, directory.ErrNotFound) {
				continue
			} else if err != nil {
				return keyring{}, fmt.Errorf("OIDC key %s: %w", name, err)
			}
			*into = append(*into, *k)
		}
	}
	return ring, nil
}

func readKey(ctx context.Context, d *directory.Directory, name string, alg jose.SignatureAlgorithm) (*signingKey, error) {
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
	signer, ok := k.(crypto.Signer)
	switch k.(type) {
	case *rsa.PrivateKey:
		ok = ok && alg == jose.RS256
	case *ecdsa.PrivateKey:
		ok = ok && alg == jose.ES256
	default:
		ok = false
	}
	if !ok {
		return nil, fmt.Errorf("key is not an %s key", alg)
	}
	thumb, err := (&jose.JSONWebKey{Key: signer.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	return &signingKey{id: base64.RawURLEncoding.EncodeToString(thumb), alg: alg, key: signer}, nil
}

func newKeyPEM(alg jose.SignatureAlgorithm) ([]byte, error) {
	var key any
	var err error
	if alg == jose.ES256 {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// EnsureKeys creates the signing keys and the access-token key that are
// missing: on first start, and after an upgrade that added ES256.
func EnsureKeys(ctx context.Context, d *directory.Directory) error {
	missing := map[string][]byte{}
	for _, alg := range algorithms {
		name := slots[alg].current
		if _, err := d.Secret(ctx, name); errors.Is(err, directory.ErrNotFound) {
			k, err := newKeyPEM(alg)
			if err != nil {
				return err
			}
			missing[name] = k
		} else if err != nil {
			return err
		}
	}
	if _, err := d.Secret(ctx, secretTokenKey); errors.Is(err, directory.ErrNotFound) {
		k := make([]byte, 32)
		rand.Read(k)
		missing[secretTokenKey] = k
	} else if err != nil {
		return err
	}
	// Each only if still missing when written, so that nodes of a shared
	// store starting together agree on every key: New keeps the token key
	// in memory for good.
	for name, v := range missing {
		if _, err := d.EnsureSecret(ctx, name, v); err != nil {
			return err
		}
	}
	return nil
}

// Rotation steps, in order: StageKey, SwitchKey, FinishRotation.

// StageKey creates the next signing keys and publishes them beside the
// current ones. Staging twice is refused.
func StageKey(ctx context.Context, d *directory.Directory) error {
	if _, err := d.Secret(ctx, slots[jose.RS256].next); err == nil {
		return fmt.Errorf("new keys are already staged; switch to them with 'atrium oidc rotate-key --switch': %w", directory.ErrConflict)
	}
	staged := map[string][]byte{}
	for _, alg := range algorithms {
		k, err := newKeyPEM(alg)
		if err != nil {
			return err
		}
		staged[slots[alg].next] = k
	}
	return d.PutSecrets(ctx, staged)
}

// SwitchKey signs with the staged keys from now on; the old ones stay
// published as "previous" until FinishRotation.
func SwitchKey(ctx context.Context, d *directory.Directory) error {
	change := map[string][]byte{}
	for _, alg := range algorithms {
		s := slots[alg]
		next, err := d.Secret(ctx, s.next)
		if errors.Is(err, directory.ErrNotFound) {
			return fmt.Errorf("no key is staged; stage one with 'atrium oidc rotate-key': %w", directory.ErrConflict)
		} else if err != nil {
			return err
		}
		cur, err := d.Secret(ctx, s.current)
		if err != nil {
			return err
		}
		change[s.current], change[s.previous], change[s.next] = next, cur, nil
	}
	return d.PutSecrets(ctx, change)
}

// FinishRotation stops publishing the previous keys. Run it once every
// token they signed has expired.
func FinishRotation(ctx context.Context, d *directory.Directory) error {
	if _, err := d.Secret(ctx, slots[jose.RS256].next); err == nil {
		return fmt.Errorf("staged keys are not in use yet; run 'atrium oidc rotate-key --switch' first: %w", directory.ErrConflict)
	}
	change := map[string][]byte{}
	for _, alg := range algorithms {
		change[slots[alg].previous] = nil
	}
	return d.PutSecrets(ctx, change)
}
