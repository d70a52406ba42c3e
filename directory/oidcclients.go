package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/google/uuid"
)

// OIDCClient is the OpenID Connect side of an app: an app with one is an
// OIDC relying party instead of a SAML service provider. The secret of a
// confidential client is kept apart from the app record, hashed, so no
// listing of apps ever carries it.
type OIDCClient struct {
	ClientID string `json:"clientID"`
	// RedirectURIs are matched exactly, as OAuth 2.0 Security BCP asks.
	RedirectURIs []string `json:"redirectURIs"`
	// PostLogoutURIs are where end_session may send the user back.
	PostLogoutURIs []string `json:"postLogoutURIs,omitempty"`
	// Public clients (single-page and native apps) have no secret and
	// must use PKCE with S256.
	Public bool `json:"public,omitempty"`
	// SigningAlg signs the client's ID tokens: RS256 (empty) or ES256.
	SigningAlg string `json:"signingAlg,omitempty"`
	// Lifetimes; zero takes the defaults below.
	AccessTTL  time.Duration `json:"accessTTL,omitempty"`
	IDTokenTTL time.Duration `json:"idTokenTTL,omitempty"`
	RefreshTTL time.Duration `json:"refreshTTL,omitempty"`
}

// Default and longest token lifetimes.
const (
	DefaultAccessTTL  = time.Hour
	DefaultIDTokenTTL = time.Hour
	DefaultRefreshTTL = 30 * 24 * time.Hour
	MaxRefreshTTL     = 365 * 24 * time.Hour
)

// Lifetimes returns the client's access, ID and refresh token lifetimes,
// defaults filled in.
func (c OIDCClient) Lifetimes() (access, id, refresh time.Duration) {
	pick := func(v, def time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return def
	}
	return pick(c.AccessTTL, DefaultAccessTTL), pick(c.IDTokenTTL, DefaultIDTokenTTL), pick(c.RefreshTTL, DefaultRefreshTTL)
}

const (
	ixAppClient   = "ix.client"   // OIDC client ID -> app ID
	bClientSecret = "oidcsecrets" // app ID -> SHA-256 of the client secret
)

func (c OIDCClient) validate(name string) error {
	if len(c.RedirectURIs) == 0 {
		return fmt.Errorf("OIDC app %s needs at least one redirect URI: %w", name, ErrInvalid)
	}
	for _, list := range [][]string{c.RedirectURIs, c.PostLogoutURIs} {
		for _, u := range list {
			if err := validRedirect(u); err != nil {
				return fmt.Errorf("OIDC app %s: %w", name, err)
			}
		}
	}
	if c.SigningAlg != "" && c.SigningAlg != "RS256" && c.SigningAlg != "ES256" {
		return fmt.Errorf("OIDC app %s: signing algorithm %q: choose RS256 or ES256: %w", name, c.SigningAlg, ErrInvalid)
	}
	if c.AccessTTL < 0 || c.IDTokenTTL < 0 || c.RefreshTTL < 0 || c.RefreshTTL > MaxRefreshTTL {
		return fmt.Errorf("OIDC app %s: token lifetimes must be positive and refresh tokens live at most a year: %w", name, ErrInvalid)
	}
	return nil
}

// validRedirect accepts absolute http(s) URLs without a fragment (RFC 6749
// 3.1.2).
func validRedirect(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("redirect URI %q: give an absolute http(s) URL without a fragment: %w", s, ErrInvalid)
	}
	return nil
}

// CreateOIDCApp registers a.OIDC's client under a fresh client ID and
// returns the app with the client secret, which is shown once: only its
// hash is kept. A public client gets no secret.
func (d *Directory) CreateOIDCApp(ctx context.Context, a App) (App, string, error) {
	if !ValidAppName(a.Name) {
		return App{}, "", fmt.Errorf("app name %q: letters, digits, '.', '_' and '-' only: %w", a.Name, ErrInvalid)
	}
	if a.OIDC == nil || a.EntityID != "" || len(a.ACS) > 0 {
		return App{}, "", fmt.Errorf("app %s: an OIDC app has redirect URIs, not an entity ID or ACS: %w", a.Name, ErrInvalid)
	}
	if err := a.OIDC.validate(a.Name); err != nil {
		return App{}, "", err
	}
	now := d.now().UTC()
	a.ID, a.Created, a.Modified = uuid.NewString(), now, now
	a.OIDC.ClientID = randomSecret(16)
	var secret string
	if !a.OIDC.Public {
		secret = randomSecret(32)
	}
	err := d.store.Update(ctx, func(tx Tx) error {
		for _, g := range a.Groups {
			if _, err := lookup(tx, ixCN, cnKey(g)); err != nil {
				return fmt.Errorf("group %q: %w", g, err)
			}
		}
		if err := claim(tx, ixAppName, fold(a.Name), a.ID, "app name"); err != nil {
			return err
		}
		if err := claim(tx, ixAppClient, a.OIDC.ClientID, a.ID, "client ID"); err != nil {
			return err
		}
		if secret != "" {
			if err := tx.Put(bClientSecret, a.ID, []byte(secretHash(secret))); err != nil {
				return err
			}
		}
		return putJSON(tx, bApps, a.ID, a)
	})
	if err != nil {
		return App{}, "", fmt.Errorf("create app: %w", err)
	}
	return a, secret, nil
}

// UpdateOIDCApp changes the OIDC app called name with fn, under the rules
// of CreateOIDCApp: valid redirect and post-logout URIs, and allowed
// groups that exist. The client ID, the secret and whether the client is
// public do not change.
func (d *Directory) UpdateOIDCApp(ctx context.Context, name string, fn func(*App) error) (App, error) {
	var a App
	err := d.store.Update(ctx, func(tx Tx) error {
		var err error
		a, err = updateApp(tx, d.now().UTC(), name, func(a *App) error {
			if a.OIDC == nil {
				return fmt.Errorf("app %s is a SAML app: %w", name, ErrInvalid)
			}
			if err := fn(a); err != nil {
				return err
			}
			for _, g := range a.Groups {
				if _, err := lookup(tx, ixCN, cnKey(g)); err != nil {
					return fmt.Errorf("group %q: %w", g, err)
				}
			}
			return nil
		})
		return err
	})
	if err != nil {
		return App{}, fmt.Errorf("update app %s: %w", name, err)
	}
	return a, nil
}

// AppByClientID returns the OIDC app with clientID.
func (d *Directory) AppByClientID(ctx context.Context, clientID string) (App, error) {
	return d.appVia(ctx, ixAppClient, clientID, "client "+clientID)
}

// CheckClientSecret reports whether secret is the current secret of the
// confidential client clientID; any failure is ErrBadCredentials.
func (d *Directory) CheckClientSecret(ctx context.Context, clientID, secret string) error {
	stored, err := view(ctx, d, func(r Reader) (string, error) {
		id, err := lookup(r.tx, ixAppClient, clientID)
		if err != nil {
			return "", err
		}
		v, err := r.tx.Get(bClientSecret, id)
		return string(v), err
	})
	if err != nil || secret == "" || subtle.ConstantTimeCompare([]byte(stored), []byte(secretHash(secret))) != 1 {
		return fmt.Errorf("client %s: %w", clientID, ErrBadCredentials)
	}
	return nil
}

// RotateClientSecret gives the confidential OIDC app called name a new
// secret, returned once; the old one stops working at once.
func (d *Directory) RotateClientSecret(ctx context.Context, name string) (string, error) {
	secret := randomSecret(32)
	err := d.store.Update(ctx, func(tx Tx) error {
		var a App
		id, err := lookup(tx, ixAppName, fold(name))
		if err == nil {
			err = getJSON(tx, bApps, id, &a)
		}
		if err != nil {
			return err
		}
		if a.OIDC == nil || a.OIDC.Public {
			return fmt.Errorf("only a confidential OIDC app has a secret: %w", ErrInvalid)
		}
		return tx.Put(bClientSecret, a.ID, []byte(secretHash(secret)))
	})
	if err != nil {
		return "", fmt.Errorf("rotate secret of app %s: %w", name, err)
	}
	return secret, nil
}

// randomSecret is n random bytes in base64url: RFC 3986 unreserved
// characters only, as some clients (Nextcloud) require of secrets.
func randomSecret(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// secretHash is a plain SHA-256: client secrets and tokens are random and
// long, so a slow hash would add cost to every token request and no safety.
func secretHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
