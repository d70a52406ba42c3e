package samlidp

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/crewjam/saml"

	"github.com/atrium-dir/atrium/directory"
)

// AppSpec is what an admin gives to register an app.
type AppSpec struct {
	Name string
	// Metadata is the SP's metadata XML; otherwise EntityID and ACS.
	Metadata       []byte
	EntityID, ACS  string
	Preset         string   // cloudflare or generic (the default)
	Groups         []string // allowed groups; empty allows everyone
	NameID         string   // email, persistent or uid; "" takes the preset's
	Attributes     []string // NAME=SOURCE, added to (or replacing) the preset's
	Encrypt        bool
	VerifyRequests bool
	IdPInitiated   bool
	LaunchURL      string
	RequireMFA     bool
}

// NameID formats Atrium issues.
const (
	formatEmail       = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	formatPersistent  = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	formatTransient   = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	formatUnspecified = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
)

var nameIDFormats = map[string]string{"email": formatEmail, "persistent": formatPersistent, "uid": formatUnspecified}

// Attribute sources, and the spellings an admin may use for them.
var attributeSources = map[string]string{
	"uid": "uid", "username": "uid",
	"mail": "mail", "email": "mail",
	"displayname": "displayName", "name": "displayName", "cn": "displayName",
	"givenname": "givenName", "given": "givenName", "firstname": "givenName",
	"sn": "sn", "surname": "sn", "lastname": "sn",
	"groups": "groups", "memberof": "groups",
	"entryuuid": "entryUUID", "uuid": "entryUUID",
}

type preset struct {
	nameID       string
	attributes   []directory.AppAttribute
	idpInitiated bool
}

var presets = map[string]preset{
	// Cloudflare Access: email NameID; policies match "groups" or any named
	// attribute, so both groups and memberOf carry every effective group.
	"cloudflare": {nameID: "email", attributes: []directory.AppAttribute{
		{Name: "email", Source: "mail"}, {Name: "name", Source: "displayName"}, {Name: "username", Source: "uid"},
		{Name: "groups", Source: "groups"}, {Name: "memberOf", Source: "groups"},
	}},
	"generic": {nameID: "email", idpInitiated: true, attributes: []directory.AppAttribute{
		{Name: "email", Source: "mail"}, {Name: "username", Source: "uid"}, {Name: "name", Source: "displayName"},
		{Name: "givenName", Source: "givenName"}, {Name: "surname", Source: "sn"}, {Name: "groups", Source: "groups"},
	}},
}

// NewApp checks spec and turns it into the app record to store.
func NewApp(spec AppSpec) (directory.App, error) {
	var problems []string
	bad := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }

	app := directory.App{Name: spec.Name}
	switch {
	case spec.Metadata != nil && (spec.EntityID != "" || spec.ACS != ""):
		bad("give either metadata or --entity-id and --acs, not both")
	case spec.Metadata != nil:
		if err := fromMetadata(&app, spec.Metadata); err != nil {
			bad("%v", err)
		}
	case spec.EntityID == "" || spec.ACS == "":
		bad("give the app's metadata, or both --entity-id and --acs")
	default:
		app.EntityID = spec.EntityID
		app.ACS = []directory.Endpoint{{URL: spec.ACS, Binding: saml.HTTPPostBinding}}
	}
	for _, e := range app.ACS {
		if err := checkACS(e.URL); err != nil {
			bad("%v", err)
		}
	}
	// Metadata asking for signed requests turns their check on.
	spec.VerifyRequests = spec.VerifyRequests || app.VerifyRequests
	applySettings(&app, spec, false, bad)
	if len(problems) > 0 {
		return directory.App{}, fmt.Errorf("app %s: %s: %w", spec.Name, strings.Join(problems, "; "), directory.ErrInvalid)
	}
	return app, nil
}

// applySettings sets everything of spec but the app's identity (entity
// ID, ACS and certificates, which app already has): preset, NameID,
// attributes, groups and options. The attributes of spec are added to the
// preset's, or with replace they are the whole list (none: the preset's).
func applySettings(app *directory.App, spec AppSpec, replace bool, bad func(string, ...any)) {
	if spec.Preset == "" {
		spec.Preset = "generic"
	}
	pre, ok := presets[spec.Preset]
	if !ok {
		bad("unknown preset %q (cloudflare or generic)", spec.Preset)
	}
	app.Preset, app.Groups = spec.Preset, spec.Groups
	app.Encrypt, app.VerifyRequests, app.RequireMFA = spec.Encrypt, spec.VerifyRequests, spec.RequireMFA
	app.IdPInitiated, app.LaunchURL = pre.idpInitiated || spec.IdPInitiated, spec.LaunchURL
	app.Attributes = slices.Clone(pre.attributes)
	if replace && len(spec.Attributes) > 0 {
		app.Attributes = nil
	}
	if spec.Preset == "cloudflare" && spec.IdPInitiated {
		bad("Cloudflare Access refuses IdP-initiated logins; drop --idp-initiated")
	}
	if spec.LaunchURL != "" {
		if err := checkACS(spec.LaunchURL); err != nil {
			bad("launch URL: %v", err)
		}
	}
	app.NameID = pre.nameID
	if spec.NameID != "" {
		app.NameID = spec.NameID
	}
	if _, ok := nameIDFormats[app.NameID]; !ok {
		bad("unknown NameID %q (email, persistent or uid)", app.NameID)
	}
	for _, a := range spec.Attributes {
		name, source, ok := strings.Cut(a, "=")
		canonical, known := attributeSources[strings.ToLower(strings.TrimSpace(source))]
		switch {
		case !ok || strings.TrimSpace(name) == "":
			bad("attribute %q: write NAME=SOURCE", a)
		case !known:
			bad("attribute %q: unknown source %q (uid, mail, displayName, givenName, sn, groups, entryUUID)", a, source)
		default:
			name = strings.TrimSpace(name)
			app.Attributes = slices.DeleteFunc(app.Attributes, func(x directory.AppAttribute) bool { return x.Name == name })
			app.Attributes = append(app.Attributes, directory.AppAttribute{Name: name, Source: canonical})
		}
	}
	if spec.Encrypt && app.EncryptionCert == "" {
		bad("--encrypt needs the app's metadata with an encryption certificate")
	}
	if spec.VerifyRequests && len(app.SigningCerts) == 0 {
		bad("--verify-requests needs the app's metadata with a signing certificate")
	}
}

// Register checks spec, that its groups exist, and stores the app.
func Register(ctx context.Context, d *directory.Directory, spec AppSpec) (directory.App, error) {
	app, err := NewApp(spec)
	if err != nil {
		return directory.App{}, err
	}
	if err := checkGroups(ctx, d, app); err != nil {
		return directory.App{}, err
	}
	return d.CreateApp(ctx, app)
}

// Update changes the settings of the SAML app called name to those of
// spec, under the rules Register applies; its entity ID, ACS URLs and
// certificates stay. spec's attributes are the app's whole list.
func Update(ctx context.Context, d *directory.Directory, name string, spec AppSpec) (directory.App, error) {
	if err := checkGroups(ctx, d, directory.App{Name: name, Groups: spec.Groups}); err != nil {
		return directory.App{}, err
	}
	return d.UpdateApp(ctx, name, func(app *directory.App) error {
		if app.OIDC != nil {
			return fmt.Errorf("app %s is an OIDC app: %w", name, directory.ErrInvalid)
		}
		var problems []string
		applySettings(app, spec, true, func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) })
		if len(problems) > 0 {
			return fmt.Errorf("app %s: %s: %w", name, strings.Join(problems, "; "), directory.ErrInvalid)
		}
		return nil
	})
}

// checkGroups refuses an app allowed to a group that does not exist.
func checkGroups(ctx context.Context, d *directory.Directory, app directory.App) error {
	for _, g := range app.Groups {
		if _, err := d.Group(ctx, g); err != nil {
			return fmt.Errorf("app %s: allowed group %q: %w", app.Name, g, err)
		}
	}
	return nil
}

// checkACS allows https URLs, and http only on a loopback host (tests and
// apps on the same machine).
func checkACS(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return fmt.Errorf("%q: plain http is allowed only for localhost; use https", raw)
	default:
		return fmt.Errorf("%q: only https URLs are allowed", raw)
	}
}

// fromMetadata fills the protocol fields of app from SP metadata.
func fromMetadata(app *directory.App, raw []byte) error {
	var ed saml.EntityDescriptor
	if err := xml.Unmarshal(raw, &ed); err != nil {
		var set saml.EntitiesDescriptor
		if xml.Unmarshal(raw, &set) != nil {
			return fmt.Errorf("metadata is not a SAML EntityDescriptor: %v", err)
		}
		found := false
		for _, e := range set.EntityDescriptors {
			if len(e.SPSSODescriptors) > 0 {
				ed, found = e, true
				break
			}
		}
		if !found {
			return errors.New("metadata holds no service provider")
		}
	}
	if ed.EntityID == "" || len(ed.SPSSODescriptors) == 0 {
		return errors.New("metadata has no entityID or no SPSSODescriptor")
	}
	app.EntityID = ed.EntityID
	sp := ed.SPSSODescriptors[0]
	acs := slices.Clone(sp.AssertionConsumerServices)
	slices.SortStableFunc(acs, func(a, b saml.IndexedEndpoint) int {
		ad, bd := a.IsDefault != nil && *a.IsDefault, b.IsDefault != nil && *b.IsDefault
		switch {
		case ad && !bd:
			return -1
		case bd && !ad:
			return 1
		}
		return a.Index - b.Index
	})
	for _, e := range acs {
		if e.Binding == saml.HTTPPostBinding {
			app.ACS = append(app.ACS, directory.Endpoint{URL: e.Location, Binding: e.Binding, Index: e.Index})
		}
	}
	if len(app.ACS) == 0 {
		return errors.New("metadata lists no AssertionConsumerService with the HTTP-POST binding")
	}
	for _, kd := range sp.KeyDescriptors {
		for _, c := range kd.KeyInfo.X509Data.X509Certificates {
			certPEM, err := certFromBase64(c.Data)
			if err != nil {
				return fmt.Errorf("metadata certificate: %v", err)
			}
			if kd.Use == "" || kd.Use == "signing" {
				app.SigningCerts = append(app.SigningCerts, certPEM)
			}
			if (kd.Use == "" || kd.Use == "encryption") && app.EncryptionCert == "" {
				app.EncryptionCert = certPEM
			}
		}
	}
	if sp.AuthnRequestsSigned != nil && *sp.AuthnRequestsSigned && len(app.SigningCerts) > 0 {
		app.VerifyRequests = true
	}
	return nil
}

var spaces = regexp.MustCompile(`\s+`)

func certFromBase64(data string) (string, error) {
	der, err := base64.StdEncoding.DecodeString(spaces.ReplaceAllString(data, ""))
	if err != nil {
		return "", err
	}
	if _, err := x509.ParseCertificate(der); err != nil {
		return "", err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), nil
}

// ReadMetadata reads SP metadata from a file or an https URL.
func ReadMetadata(ctx context.Context, source string) ([]byte, error) {
	const limit = 1 << 20
	var r io.Reader
	if strings.HasPrefix(source, "https://") || strings.HasPrefix(source, "http://") {
		ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetch metadata: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetch metadata: %s answered %s", source, resp.Status)
		}
		r = resp.Body
	} else {
		f, err := os.Open(source)
		if err != nil {
			return nil, fmt.Errorf("read metadata: %w", err)
		}
		defer f.Close()
		r = f
	}
	raw, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read metadata: %w", err)
	}
	if len(raw) > limit {
		return nil, errors.New("metadata is larger than 1 MiB")
	}
	return raw, nil
}
