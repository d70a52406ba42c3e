package samlidp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// Secret names of the keyring. "current" signs; "next" is staged during a
// rotation (published, and used by apps moved early); "previous" is the
// certificate replaced by the last switch, still published until the
// rotation is finished.
const (
	secretKey      = "saml-signing-key"
	secretCert     = "saml-signing-cert"
	secretNextKey  = "saml-next-key"
	secretNextCert = "saml-next-cert"
	secretPrevCert = "saml-previous-cert"
)

// signingKey is a private key with its certificate.
type signingKey struct {
	Signer crypto.Signer
	Cert   *x509.Certificate
}

// keyring is the set of certificates the IdP publishes and the keys it
// signs with.
type keyring struct {
	Current  signingKey
	Next     *signingKey
	Previous *x509.Certificate
}

// Published lists the certificates metadata advertises, newest first.
func (k keyring) Published() []*x509.Certificate {
	var out []*x509.Certificate
	if k.Next != nil {
		out = append(out, k.Next.Cert)
	}
	out = append(out, k.Current.Cert)
	if k.Previous != nil {
		out = append(out, k.Previous)
	}
	return out
}

// For returns the key that signs for app.
func (k keyring) For(app directory.App) signingKey {
	if app.NextCert && k.Next != nil {
		return *k.Next
	}
	return k.Current
}

// loadKeyring parses the keyring; a directory.SecretsCache keeps the
// result until the next secret write.
func loadKeyring(ctx context.Context, d *directory.Directory) (keyring, error) {
	pems := map[string][]byte{}
	for _, name := range []string{secretKey, secretCert, secretNextKey, secretNextCert, secretPrevCert} {
		v, err := d.Secret(ctx, name)
		if err != nil && !errors.Is(err, directory.ErrNotFound) {
			return keyring{}, err
		}
		pems[name] = v
	}
	var ring keyring
	cur, err := parseKeyPair(pems[secretKey], pems[secretCert])
	if err != nil {
		return keyring{}, fmt.Errorf("SAML signing key: %w", err)
	}
	ring.Current = cur
	if pems[secretNextKey] != nil {
		next, err := parseKeyPair(pems[secretNextKey], pems[secretNextCert])
		if err != nil {
			return keyring{}, fmt.Errorf("staged SAML signing key: %w", err)
		}
		ring.Next = &next
	}
	if pems[secretPrevCert] != nil {
		if ring.Previous, err = parseCert(pems[secretPrevCert]); err != nil {
			return keyring{}, fmt.Errorf("previous SAML certificate: %w", err)
		}
	}
	return ring, nil
}

func parseKeyPair(keyPEM, certPEM []byte) (signingKey, error) {
	if keyPEM == nil {
		return signingKey{}, directory.ErrNotFound
	}
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return signingKey{}, errors.New("key is not PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return signingKey{}, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return signingKey{}, errors.New("key is not RSA")
	}
	cert, err := parseCert(certPEM)
	if err != nil {
		return signingKey{}, err
	}
	return signingKey{Signer: rk, Cert: cert}, nil
}

func parseCert(certPEM []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(certPEM)
	if b == nil {
		return nil, errors.New("certificate is not PEM")
	}
	return x509.ParseCertificate(b.Bytes)
}

// newKeyPair makes an RSA 2048 key and a self-signed certificate valid for
// ten years, both PEM.
func newKeyPair(now time.Time) (keyPEM, certPEM []byte, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Atrium SAML signing " + now.UTC().Format("2006-01-02"), Organization: []string{"Atrium"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

// EnsureKey creates the signing key and certificate on first start.
func EnsureKey(ctx context.Context, d *directory.Directory) error {
	if _, err := d.Secret(ctx, secretKey); err == nil {
		return nil
	} else if !errors.Is(err, directory.ErrNotFound) {
		return err
	}
	keyPEM, certPEM, err := newKeyPair(d.Now())
	if err != nil {
		return err
	}
	return d.PutSecrets(ctx, map[string][]byte{secretKey: keyPEM, secretCert: certPEM})
}

// Rotation steps, in order: StageKey, SwitchKey, FinishRotation.

// StageKey creates the next signing key and publishes its certificate next
// to the current one. Apps keep the current key unless moved with
// UseNextKey. Staging twice is refused.
func StageKey(ctx context.Context, d *directory.Directory) error {
	if _, err := d.Secret(ctx, secretNextKey); err == nil {
		return fmt.Errorf("a new certificate is already staged; switch to it with 'atrium saml rotate-cert --switch': %w", directory.ErrConflict)
	}
	keyPEM, certPEM, err := newKeyPair(d.Now())
	if err != nil {
		return err
	}
	return d.PutSecrets(ctx, map[string][]byte{secretNextKey: keyPEM, secretNextCert: certPEM})
}

// SwitchKey makes the staged key the current one. The old certificate stays
// published as "previous" until FinishRotation.
func SwitchKey(ctx context.Context, d *directory.Directory) error {
	nextKey, err := d.Secret(ctx, secretNextKey)
	if errors.Is(err, directory.ErrNotFound) {
		return fmt.Errorf("no certificate is staged; stage one with 'atrium saml rotate-cert': %w", directory.ErrConflict)
	} else if err != nil {
		return err
	}
	nextCert, err := d.Secret(ctx, secretNextCert)
	if err != nil {
		return err
	}
	oldCert, err := d.Secret(ctx, secretCert)
	if err != nil {
		return err
	}
	apps, err := d.ListApps(ctx)
	if err != nil {
		return err
	}
	// One transaction: an app moved early must not keep its mark, or it
	// would take up the next staged key before it is given to it.
	return d.Batch(ctx, func(b *directory.Batch) error {
		if err := b.PutSecrets(map[string][]byte{
			secretKey: nextKey, secretCert: nextCert, secretPrevCert: oldCert,
			secretNextKey: nil, secretNextCert: nil,
		}); err != nil {
			return err
		}
		for _, a := range apps {
			if a.NextCert {
				_, err := b.UpdateApp(a.Name, func(a *directory.App) error { a.NextCert = false; return nil })
				if err != nil && !errors.Is(err, directory.ErrNotFound) { // an app deleted since needs no change
					return err
				}
			}
		}
		return nil
	})
}

// FinishRotation stops publishing the previous certificate.
func FinishRotation(ctx context.Context, d *directory.Directory) error {
	if _, err := d.Secret(ctx, secretNextKey); err == nil {
		return fmt.Errorf("a staged certificate is not in use yet; run 'atrium saml rotate-cert --switch' first: %w", directory.ErrConflict)
	}
	return d.PutSecrets(ctx, map[string][]byte{secretPrevCert: nil})
}

// UseNextKey moves one app to the staged key before the switch, for an SP
// that accepts only one certificate and has been given the new one.
func UseNextKey(ctx context.Context, d *directory.Directory, app string) error {
	if _, err := d.Secret(ctx, secretNextKey); err != nil {
		return fmt.Errorf("no certificate is staged; stage one with 'atrium saml rotate-cert': %w", directory.ErrConflict)
	}
	_, err := d.UpdateApp(ctx, app, func(a *directory.App) error { a.NextCert = true; return nil })
	return err
}

// SigningCertificate returns the certificate of the key that signs now,
// so that its expiry can be watched.
func SigningCertificate(ctx context.Context, d *directory.Directory) (*x509.Certificate, error) {
	pem, err := d.Secret(ctx, secretCert)
	if err != nil {
		return nil, fmt.Errorf("SAML signing certificate: %w", err)
	}
	return parseCert(pem)
}
