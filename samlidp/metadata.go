package samlidp

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"time"

	"github.com/crewjam/saml"
)

// metadataCacheDuration tells SPs how often to fetch metadata again, so a
// staged certificate reaches them well before the switch.
const metadataCacheDuration = 24 * time.Hour

// Metadata returns the IdP's metadata: every published certificate (both
// during a rotation), the NameID formats Atrium issues and both SSO
// bindings. It is valid until the earliest published certificate expires.
func (i *IdP) Metadata(ctx context.Context) ([]byte, error) {
	ring, err := i.keys.Load(ctx)
	if err != nil {
		return nil, err
	}
	published := ring.Published()
	validUntil := published[0].NotAfter
	var keys []saml.KeyDescriptor
	for _, c := range published {
		if c.NotAfter.Before(validUntil) {
			validUntil = c.NotAfter
		}
		keys = append(keys, saml.KeyDescriptor{Use: "signing", KeyInfo: saml.KeyInfo{X509Data: saml.X509Data{
			X509Certificates: []saml.X509Certificate{{Data: base64.StdEncoding.EncodeToString(c.Raw)}}}}})
	}
	no := false
	ed := saml.EntityDescriptor{
		EntityID:      i.EntityID(),
		ValidUntil:    validUntil.UTC(),
		CacheDuration: metadataCacheDuration,
		IDPSSODescriptors: []saml.IDPSSODescriptor{{
			SSODescriptor: saml.SSODescriptor{
				RoleDescriptor: saml.RoleDescriptor{
					ProtocolSupportEnumeration: "urn:oasis:names:tc:SAML:2.0:protocol",
					KeyDescriptors:             keys,
				},
				NameIDFormats: []saml.NameIDFormat{formatEmail, formatPersistent, formatUnspecified, formatTransient},
			},
			WantAuthnRequestsSigned: &no,
			SingleSignOnServices: []saml.Endpoint{
				{Binding: saml.HTTPRedirectBinding, Location: i.ssoURL()},
				{Binding: saml.HTTPPostBinding, Location: i.ssoURL()},
			},
		}},
	}
	out, err := xml.MarshalIndent(ed, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), out...), nil
}

func (i *IdP) serveMetadata(w http.ResponseWriter, r *http.Request) {
	md, err := i.Metadata(r.Context())
	if err != nil {
		i.log.Error("saml metadata", "err", err)
		http.Error(w, "metadata unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/samlmetadata+xml")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(md)
}
