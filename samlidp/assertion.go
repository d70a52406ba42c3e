package samlidp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// Assertion validity, from Atrium's own clock.
const (
	validBefore = 2 * time.Minute
	validAfter  = 5 * time.Minute
)

// Authentication context classes.
const (
	classPassword = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
	classMFA      = "https://refeds.org/profile/mfa"
)

func (i *IdP) appByID(ctx context.Context, id string) (directory.App, error) {
	return i.dir.AppByID(ctx, id)
}

// access reports whether u may use app, and u's effective group names.
func (i *IdP) access(ctx context.Context, app directory.App, u directory.User) (bool, []string, error) {
	groups, err := i.dir.EffectiveGroups(ctx, u.UID)
	if err != nil {
		return false, nil, err
	}
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, g.CN)
	}
	slices.Sort(names)
	if len(app.Groups) == 0 {
		return true, names, nil
	}
	for _, allowed := range app.Groups {
		for _, n := range names {
			if strings.EqualFold(allowed, n) {
				return true, names, nil
			}
		}
	}
	return false, names, nil
}

func join(s []string) string { return strings.Join(s, ",") }

// nameIDFormat picks the NameID format: the one the SP asked for when
// Atrium can give it, else the app's.
func nameIDFormat(app directory.App, requested string) (string, error) {
	switch requested {
	case "", formatUnspecified:
		return nameIDFormats[app.NameID], nil
	case formatEmail, formatPersistent, formatTransient:
		return requested, nil
	}
	return "", fmt.Errorf("NameID format %q not supported", requested)
}

func nameIDValue(format string, u directory.User) string {
	switch format {
	case formatEmail:
		return u.Mail
	case formatPersistent:
		return u.ID
	case formatTransient:
		return "_" + randomHex(16)
	}
	return u.UID
}

func attributeValues(source string, u directory.User, groups []string) []string {
	switch source {
	case "uid":
		return []string{u.UID}
	case "mail":
		return []string{u.Mail}
	case "displayName":
		return []string{u.CommonName()}
	case "givenName":
		return []string{u.GivenName}
	case "sn":
		return []string{u.Surname}
	case "groups":
		return groups
	case "entryUUID":
		return []string{u.ID}
	}
	return nil
}

func attribute(name string, values []string) saml.Attribute {
	a := saml.Attribute{Name: name, NameFormat: "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"}
	for _, v := range values {
		a.Values = append(a.Values, saml.AttributeValue{Type: "xs:string", Value: v})
	}
	return a
}

// signer returns a crewjam IdentityProvider set up to sign with key.
func (i *IdP) signer(key signingKey) *saml.IdentityProvider {
	entity, _ := url.Parse(i.EntityID())
	return &saml.IdentityProvider{Signer: key.Signer, Certificate: key.Cert, SignatureMethod: dsig.RSASHA256SignatureMethod, MetadataURL: *entity}
}

// spDescriptor is the SP as crewjam's signer and encrypter see it: an
// encryption key only when the app asked for encrypted assertions.
func spDescriptor(app directory.App) (*saml.EntityDescriptor, error) {
	sp := saml.SPSSODescriptor{}
	if app.Encrypt {
		cert, err := parseCert([]byte(app.EncryptionCert))
		if err != nil {
			return nil, fmt.Errorf("encryption certificate of %s: %w", app.Name, err)
		}
		sp.KeyDescriptors = []saml.KeyDescriptor{{Use: "encryption", KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{
			X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(cert.Raw)}}}}}}
	}
	return &saml.EntityDescriptor{EntityID: app.EntityID, SPSSODescriptors: []saml.SPSSODescriptor{sp}}, nil
}

// buildResponse makes the signed (and, if the app wants, encrypted)
// Response for u and returns it with the names of the attributes
// released.
func (i *IdP) buildResponse(ctx context.Context, app directory.App, u directory.User, groups []string, s signin.Session, p parked) ([]byte, []string, error) {
	ring, err := i.keys.Load(ctx)
	if err != nil {
		return nil, nil, err
	}
	format, err := nameIDFormat(app, p.NameIDFormat)
	if err != nil {
		return nil, nil, err
	}
	now := i.now().UTC()
	class := classPassword
	if signin.UsedMFA(s.Methods) {
		class = classMFA
	}
	var attrs []saml.Attribute
	var released []string
	for _, a := range app.Attributes {
		// An empty value is refused by some SPs (mellon logs an error), so a
		// property the user lacks is left out, like an attribute with none.
		values := slices.DeleteFunc(slices.Clone(attributeValues(a.Source, u, groups)), func(v string) bool { return v == "" })
		if len(values) == 0 {
			continue
		}
		attrs = append(attrs, attribute(a.Name, values))
		released = append(released, a.Name)
	}
	attrs = append(attrs, attribute("amr", signin.AMR(s.Methods)))
	released = append(released, "amr")
	sessionIndex := sha256.Sum256([]byte(s.ID + "|" + app.ID))

	assertion := &saml.Assertion{
		ID: "id-" + randomHex(20), IssueInstant: now, Version: "2.0",
		Issuer: saml.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: i.EntityID()},
		Subject: &saml.Subject{
			NameID: &saml.NameID{Format: format, NameQualifier: i.EntityID(), SPNameQualifier: app.EntityID, Value: nameIDValue(format, u)},
			SubjectConfirmations: []saml.SubjectConfirmation{{
				Method: "urn:oasis:names:tc:SAML:2.0:cm:bearer",
				SubjectConfirmationData: &saml.SubjectConfirmationData{
					InResponseTo: p.RequestID, NotOnOrAfter: now.Add(validAfter), Recipient: p.ACS,
				},
			}},
		},
		Conditions: &saml.Conditions{
			NotBefore: now.Add(-validBefore), NotOnOrAfter: now.Add(validAfter),
			AudienceRestrictions: []saml.AudienceRestriction{{Audience: saml.Audience{Value: app.EntityID}}},
		},
		AuthnStatements: []saml.AuthnStatement{{
			AuthnInstant: s.AuthTime.UTC(), SessionIndex: "_" + hex.EncodeToString(sessionIndex[:16]),
			AuthnContext: saml.AuthnContext{AuthnContextClassRef: &saml.AuthnContextClassRef{Value: class}},
		}},
		AttributeStatements: []saml.AttributeStatement{{Attributes: attrs}},
	}
	raw, err := i.sign(app, ring.For(app), assertion, p.RequestID, p.ACS, now)
	return raw, released, err
}

// sign wraps assertion (nil for an error Response) in a Response; both are
// signed, and the assertion encrypted when the app asked for it.
func (i *IdP) sign(app directory.App, key signingKey, assertion *saml.Assertion, inResponseTo, acs string, now time.Time) ([]byte, error) {
	ed, err := spDescriptor(app)
	if err != nil {
		return nil, err
	}
	req := &saml.IdpAuthnRequest{
		IDP:                     i.signer(key),
		Request:                 saml.AuthnRequest{ID: inResponseTo},
		ServiceProviderMetadata: ed,
		SPSSODescriptor:         &ed.SPSSODescriptors[0],
		ACSEndpoint:             &saml.IndexedEndpoint{Binding: saml.HTTPPostBinding, Location: acs},
		Assertion:               assertion,
		Now:                     now,
	}
	if err := req.MakeResponse(); err != nil {
		return nil, fmt.Errorf("sign response: %w", err)
	}
	doc := etree.NewDocument()
	doc.SetRoot(req.ResponseEl)
	return doc.WriteToBytes()
}

// errorResponse is a signed Response carrying status and no assertion.
func (i *IdP) errorResponse(ctx context.Context, in *incoming, status string) ([]byte, error) {
	ring, err := i.keys.Load(ctx)
	if err != nil {
		return nil, err
	}
	now := i.now().UTC()
	resp := &saml.Response{
		ID: "id-" + randomHex(20), InResponseTo: in.req.ID, IssueInstant: now, Version: "2.0", Destination: in.acs,
		Issuer: &saml.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: i.EntityID()},
		Status: saml.Status{StatusCode: saml.StatusCode{Value: saml.StatusResponder}},
	}
	if status == saml.StatusRequester || status == saml.StatusResponder || status == saml.StatusVersionMismatch {
		resp.Status.StatusCode.Value = status
	} else {
		top := saml.StatusResponder
		if status == saml.StatusRequestDenied || status == saml.StatusInvalidNameIDPolicy {
			top = saml.StatusRequester
		}
		resp.Status.StatusCode = saml.StatusCode{Value: top, StatusCode: &saml.StatusCode{Value: status}}
	}
	key := ring.For(in.app)
	signingCtx, err := dsig.NewSigningContext(key.Signer, [][]byte{key.Cert.Raw})
	if err != nil {
		return nil, err
	}
	signingCtx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := signingCtx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		return nil, err
	}
	signed, err := signingCtx.SignEnveloped(resp.Element())
	if err != nil {
		return nil, err
	}
	doc := etree.NewDocument()
	doc.SetRoot(signed)
	return doc.WriteToBytes()
}

//go:embed web
var pages embed.FS

// postView is the data of post.html.
type postView struct {
	ACS, Response, RelayState, App, Nonce string
	Auto                                  bool
}

// postForm sends a Response to the ACS with the HTTP-POST binding: a form
// the page submits itself (auto) or that the user submits after reading
// message.
func (i *IdP) postForm(w http.ResponseWriter, status int, app directory.App, acs string, response []byte, relayState, message string, auto bool) {
	nonce := randomHex(16)
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'self'; form-action https: http:; frame-ancestors 'none'; base-uri 'none'")
	pg := web.Page{Title: "Signing you in…", Error: message, Data: postView{
		ACS: acs, Response: base64.StdEncoding.EncodeToString(response), RelayState: relayState,
		App: app.Name, Nonce: nonce, Auto: auto,
	}}
	if message != "" {
		pg.Title = "Cannot sign you in"
	}
	i.pages.Render(w, status, "post.html", pg)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
