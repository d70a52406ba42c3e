package directory

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
)

// SecretKeySize is the length of the key that encrypts stored secrets.
const SecretKeySize = 32

// LoadOrCreateSecretKey reads the secrets key at path, creating it (mode
// 0600) with fresh random bytes when it does not exist. The key must live
// outside the database file: a copy of the store alone reveals no secret.
func LoadOrCreateSecretKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil {
		if len(key) != SecretKeySize {
			return nil, fmt.Errorf("secrets key %s: want %d bytes, found %d", path, SecretKeySize, len(key))
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secrets key: %w", err)
	}
	key = make([]byte, SecretKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create secrets key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("write secrets key: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return key, f.Close()
}

type secretBox struct{ aead cipher.AEAD }

func newSecretBox(key []byte) (*secretBox, error) {
	if len(key) != SecretKeySize {
		return nil, fmt.Errorf("secrets key: want %d bytes: %w", SecretKeySize, ErrInvalid)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &secretBox{aead: aead}, nil
}

// ErrNoSecretKey means the directory was opened without a secrets key.
var ErrNoSecretKey = errors.New("no secrets key configured")

// Seal encrypts plaintext with AES-256-GCM. purpose (for example
// "totp:<user id>") is bound to the result, so a sealed value cannot be
// moved to another record.
func (d *Directory) Seal(plaintext []byte, purpose string) ([]byte, error) {
	return d.box.seal(plaintext, purpose)
}

// Unseal reverses Seal with the same purpose.
func (d *Directory) Unseal(sealed []byte, purpose string) ([]byte, error) {
	return d.box.open(sealed, purpose)
}

// seal is Directory.Seal; a nil box (no secrets key) refuses.
func (b *secretBox) seal(plaintext []byte, purpose string) ([]byte, error) {
	if b == nil {
		return nil, ErrNoSecretKey
	}
	nonce := make([]byte, b.aead.NonceSize(), b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return b.aead.Seal(nonce, nonce, plaintext, []byte(purpose)), nil
}

// open is Directory.Unseal.
func (b *secretBox) open(sealed []byte, purpose string) ([]byte, error) {
	if b == nil {
		return nil, ErrNoSecretKey
	}
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, fmt.Errorf("sealed secret too short: %w", ErrInvalid)
	}
	out, err := b.aead.Open(nil, sealed[:n], sealed[n:], []byte(purpose))
	if err != nil {
		return nil, fmt.Errorf("unseal %s: %w", purpose, err)
	}
	return out, nil
}

// boxTx is a transaction that carries the directory's secrets box, so that
// code given only a Tx (a Reader from View, a migration) can seal and
// unseal.
type boxTx struct {
	Tx
	box *secretBox
}

// boxOf returns the box tx carries, or nil (which refuses to seal or open).
func boxOf(tx Tx) *secretBox {
	if b, ok := tx.(boxTx); ok {
		return b.box
	}
	return nil
}

const bSecrets = "secrets"

// PutSecret stores a named secret (a signing key, say), sealed with the
// secrets key.
func (d *Directory) PutSecret(ctx context.Context, name string, value []byte) error {
	sealed, err := d.Seal(value, "secret:"+name)
	if err != nil {
		return err
	}
	defer d.secretsGen.Add(1)
	return d.store.Update(ctx, func(tx Tx) error { return tx.Put(bSecrets, name, sealed) })
}

// EnsureSecret stores value as the secret name unless one is stored, and
// returns the secret stored: value, or the one already there. Nodes of a
// shared store that start together each make a value and agree on one.
func (d *Directory) EnsureSecret(ctx context.Context, name string, value []byte) ([]byte, error) {
	sealed, err := d.Seal(value, "secret:"+name)
	if err != nil {
		return nil, err
	}
	var stored []byte
	err = d.store.Update(ctx, func(tx Tx) error {
		v, err := tx.Get(bSecrets, name)
		if errors.Is(err, ErrNotFound) {
			stored = sealed
			return tx.Put(bSecrets, name, sealed)
		}
		stored = bytes.Clone(v)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	d.secretsGen.Add(1)
	return d.Unseal(stored, "secret:"+name)
}

// SecretsGeneration changes whenever this Directory writes a secret, so a
// cache of parsed secrets (SecretsCache) knows when to reload.
func (d *Directory) SecretsGeneration() uint64 { return d.secretsGen.Load() }

// Secret returns a secret stored with PutSecret, or ErrNotFound.
func (d *Directory) Secret(ctx context.Context, name string) ([]byte, error) {
	sealed, err := view(ctx, d, func(r Reader) ([]byte, error) {
		v, err := r.tx.Get(bSecrets, name)
		return bytes.Clone(v), err
	})
	if err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	return d.Unseal(sealed, "secret:"+name)
}

// PutSecrets stores several named secrets in one transaction; a nil value
// deletes that secret. Key rotations use it so that no reader ever sees
// half a change.
func (d *Directory) PutSecrets(ctx context.Context, values map[string][]byte) error {
	sealed, err := d.sealSecrets(values)
	if err != nil {
		return err
	}
	defer d.secretsGen.Add(1)
	return d.store.Update(ctx, func(tx Tx) error { return putSealed(tx, sealed) })
}

// sealSecrets seals each value under its name; nil stays nil.
func (d *Directory) sealSecrets(values map[string][]byte) (map[string][]byte, error) {
	sealed := map[string][]byte{}
	for name, v := range values {
		if v == nil {
			sealed[name] = nil
			continue
		}
		s, err := d.Seal(v, "secret:"+name)
		if err != nil {
			return nil, err
		}
		sealed[name] = s
	}
	return sealed, nil
}

// putSealed stores sealed secrets, deleting those that are nil.
func putSealed(tx Tx, sealed map[string][]byte) error {
	for name, s := range sealed {
		var err error
		if s == nil {
			err = tx.Delete(bSecrets, name)
		} else {
			err = tx.Put(bSecrets, name, s)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
