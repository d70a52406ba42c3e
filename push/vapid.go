package push

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/atrium-dir/atrium/directory"
)

// secretVAPID names the stored VAPID private key (the raw P-256 scalar).
const secretVAPID = "push-vapid-key"

// VAPID is the application server key pair of RFC 8292. Push services tie a
// subscription to the public key the browser subscribed with, so the pair
// must outlive restarts: it is made once and kept sealed in the store.
type VAPID struct {
	key *ecdh.PrivateKey
}

// PublicKey is the uncompressed public point, base64url without padding:
// the applicationServerKey of the browser's pushManager.subscribe call.
func (v VAPID) PublicKey() string {
	return base64.RawURLEncoding.EncodeToString(v.key.PublicKey().Bytes())
}

func (v VAPID) privateKey() string {
	return base64.RawURLEncoding.EncodeToString(v.key.Bytes())
}

// EnsureVAPID returns the stored VAPID keys, creating them on first start.
// Nodes of a shared store starting together agree on one key: each keeps
// it in memory, and a subscription made with another would not be sent.
func EnsureVAPID(ctx context.Context, d *directory.Directory) (VAPID, error) {
	raw, err := d.Secret(ctx, secretVAPID)
	if errors.Is(err, directory.ErrNotFound) {
		key, err := ecdh.P256().GenerateKey(rand.Reader)
		if err != nil {
			return VAPID{}, err
		}
		if raw, err = d.EnsureSecret(ctx, secretVAPID, key.Bytes()); err != nil {
			return VAPID{}, fmt.Errorf("store VAPID key: %w", err)
		}
	} else if err != nil {
		return VAPID{}, err
	}
	key, err := ecdh.P256().NewPrivateKey(raw)
	if err != nil {
		return VAPID{}, fmt.Errorf("stored VAPID key: %w", err)
	}
	return VAPID{key: key}, nil
}
