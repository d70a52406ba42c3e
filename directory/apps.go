package directory

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"time"

	"github.com/google/uuid"
)

// App is a web application registered to sign users in through Atrium: a
// SAML service provider, or an OpenID Connect client when OIDC is set. The
// front ends fill and interpret the protocol fields; the directory keeps
// them, unique by name, entity ID and client ID.
type App struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	EntityID string `json:"entityID"`
	// ACS lists the assertion consumer endpoints, the first is the default.
	ACS []Endpoint `json:"acs"`
	// NameID is email, persistent or uid.
	NameID     string         `json:"nameID"`
	Attributes []AppAttribute `json:"attributes,omitempty"`
	// Groups limits the app to members (direct or nested) of these groups;
	// empty means every user.
	Groups []string `json:"groups,omitempty"`
	// EncryptionCert (PEM) encrypts assertions when Encrypt is set.
	Encrypt        bool   `json:"encrypt,omitempty"`
	EncryptionCert string `json:"encryptionCert,omitempty"`
	// SigningCerts (PEM) verify the app's signed AuthnRequests when
	// VerifyRequests is set.
	VerifyRequests bool     `json:"verifyRequests,omitempty"`
	SigningCerts   []string `json:"signingCerts,omitempty"`
	IdPInitiated   bool     `json:"idpInitiated,omitempty"`
	LaunchURL      string   `json:"launchURL,omitempty"`
	RequireMFA     bool     `json:"requireMFA,omitempty"`
	Preset         string   `json:"preset,omitempty"`
	// NextCert signs this app's assertions with the staged certificate
	// during a rotation.
	NextCert bool `json:"nextCert,omitempty"`
	// OIDC makes the app an OpenID Connect client (see CreateOIDCApp).
	OIDC     *OIDCClient `json:"oidc,omitempty"`
	Created  time.Time   `json:"created"`
	Modified time.Time   `json:"modified"`
}

// Endpoint is a URL and the SAML binding it speaks.
type Endpoint struct {
	URL     string `json:"url"`
	Binding string `json:"binding"`
	Index   int    `json:"index,omitempty"`
}

// AppAttribute releases one user property under an attribute name.
type AppAttribute struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

const (
	bApps       = "apps"
	ixAppName   = "ix.app"    // lower(name) -> app ID
	ixAppEntity = "ix.entity" // entity ID -> app ID
)

var appNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ValidAppName reports whether name can name an app on the command line.
func ValidAppName(name string) bool { return appNamePattern.MatchString(name) }

// CreateApp registers a. Name and entity ID must be unused.
func (d *Directory) CreateApp(ctx context.Context, a App) (App, error) {
	if !ValidAppName(a.Name) {
		return App{}, fmt.Errorf("app name %q: letters, digits, '.', '_' and '-' only: %w", a.Name, ErrInvalid)
	}
	if a.EntityID == "" || len(a.ACS) == 0 || a.OIDC != nil {
		return App{}, fmt.Errorf("app %s needs an entity ID and an ACS URL: %w", a.Name, ErrInvalid)
	}
	now := d.now().UTC()
	a.ID, a.Created, a.Modified = uuid.NewString(), now, now
	err := d.store.Update(ctx, func(tx Tx) error {
		if err := claim(tx, ixAppName, fold(a.Name), a.ID, "app name"); err != nil {
			return err
		}
		if err := claim(tx, ixAppEntity, a.EntityID, a.ID, "entity ID"); err != nil {
			return err
		}
		return putJSON(tx, bApps, a.ID, a)
	})
	if err != nil {
		return App{}, fmt.Errorf("create app: %w", err)
	}
	return a, nil
}

// App returns the app called name.
func (d *Directory) App(ctx context.Context, name string) (App, error) {
	return d.appVia(ctx, ixAppName, fold(name), name)
}

// AppByEntityID returns the app registered with entityID.
func (d *Directory) AppByEntityID(ctx context.Context, entityID string) (App, error) {
	return d.appVia(ctx, ixAppEntity, entityID, entityID)
}

func (d *Directory) appVia(ctx context.Context, index, key, what string) (App, error) {
	return view(ctx, d, func(r Reader) (App, error) {
		var a App
		id, err := lookup(r.tx, index, key)
		if err == nil {
			err = getJSON(r.tx, bApps, id, &a)
		}
		if err != nil {
			return App{}, fmt.Errorf("app %s: %w", what, err)
		}
		return a, nil
	})
}

// ListApps returns every app, by name.
func (d *Directory) ListApps(ctx context.Context) ([]App, error) {
	apps, err := view(ctx, d, func(r Reader) ([]App, error) {
		var out []App
		err := r.tx.Scan(bApps, "", "", func(_ string, raw []byte) error {
			var a App
			if err := json.Unmarshal(raw, &a); err != nil {
				return err
			}
			out = append(out, a)
			return nil
		})
		return out, err
	})
	sort.Slice(apps, func(i, j int) bool { return fold(apps[i].Name) < fold(apps[j].Name) })
	return apps, err
}

// UpdateApp changes the app called name with fn in one transaction. The
// name, entity ID and ID cannot change.
func (d *Directory) UpdateApp(ctx context.Context, name string, fn func(*App) error) (App, error) {
	var a App
	err := d.store.Update(ctx, func(tx Tx) error {
		var err error
		a, err = updateApp(tx, d.now().UTC(), name, fn)
		return err
	})
	if err != nil {
		return App{}, fmt.Errorf("update app %s: %w", name, err)
	}
	return a, nil
}

// updateApp is UpdateApp inside a transaction.
func updateApp(tx Tx, now time.Time, name string, fn func(*App) error) (App, error) {
	var a App
	id, err := lookup(tx, ixAppName, fold(name))
	if err != nil {
		return a, err
	}
	if err := getJSON(tx, bApps, id, &a); err != nil {
		return a, err
	}
	before := a
	if a.OIDC != nil { // fn must not reach the client ID kept below
		c := *a.OIDC
		before.OIDC = &c
	}
	if err := fn(&a); err != nil {
		return a, err
	}
	a.ID, a.Name, a.EntityID, a.Created = before.ID, before.Name, before.EntityID, before.Created
	if err := keepClientID(a.Name, before.OIDC, a.OIDC); err != nil {
		return a, err
	}
	a.Modified = now
	return a, putJSON(tx, bApps, a.ID, a)
}

// DeleteApp removes the app called name.
func (d *Directory) DeleteApp(ctx context.Context, name string) error {
	err := d.store.Update(ctx, func(tx Tx) error {
		id, err := lookup(tx, ixAppName, fold(name))
		if err != nil {
			return err
		}
		var a App
		if err := getJSON(tx, bApps, id, &a); err != nil {
			return err
		}
		dels := [][2]string{{ixAppName, fold(a.Name)}, {ixAppEntity, a.EntityID}, {bApps, id}}
		if a.OIDC != nil {
			dels = append(dels, [2]string{ixAppClient, a.OIDC.ClientID}, [2]string{bClientSecret, id})
		}
		for _, del := range dels {
			if err := tx.Delete(del[0], del[1]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete app %s: %w", name, err)
	}
	return nil
}

// AppByID returns the app with entry ID id.
func (d *Directory) AppByID(ctx context.Context, id string) (App, error) {
	return view(ctx, d, func(r Reader) (App, error) {
		var a App
		if err := getJSON(r.tx, bApps, id, &a); err != nil {
			return App{}, fmt.Errorf("app %s: %w", id, err)
		}
		return a, nil
	})
}

// keepClientID refuses to turn a SAML app into an OIDC one or back, or to
// change a client ID, and checks the new OIDC settings.
func keepClientID(name string, before, after *OIDCClient) error {
	if (before == nil) != (after == nil) {
		return fmt.Errorf("app %s cannot change protocol; add a new app: %w", name, ErrInvalid)
	}
	if before == nil {
		return nil
	}
	after.ClientID, after.Public = before.ClientID, before.Public
	return after.validate(name)
}
