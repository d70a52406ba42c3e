package console_test

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/samlidp"
)

// spMetadata is an app's metadata with one certificate (%s, base64) for
// signing and encryption, as many apps publish.
const spMetadata = `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://crm.example.com/sp">
<SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<KeyDescriptor><KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>%[1]s</X509Certificate></X509Data></KeyInfo></KeyDescriptor>
<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://crm.example.com/acs" index="0"/>
</SPSSODescriptor>
</EntityDescriptor>`

// The app's page turns on encrypted assertions, signed requests and a
// launch URL for an app whose metadata gives the certificates, shows them
// checked, and turns them off again; the generic preset keeps IdP-initiated
// logins on.
func TestAppOptions(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	cert, _ := testCertificate(t)
	md := fmt.Sprintf(spMetadata, base64.StdEncoding.EncodeToString(cert.Raw))
	ctx := context.Background()
	if _, err := samlidp.Register(ctx, st.d, samlidp.AppSpec{Name: "crm", Metadata: []byte(md)}); err != nil {
		t.Fatal(err)
	}
	admin := st.client()
	admin.signIn("/admin/", "admin")
	on := url.Values{"preset": {"generic"}, "nameid": {"persistent"}, "encrypt": {"on"}, "verify_requests": {"on"}, "launch_url": {"https://crm.example.com/start"}}
	if resp, body := admin.submit("/admin/apps/crm", "/admin/apps/crm", on); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("turning the options on: %d\n%.600s", resp.StatusCode, body)
	}
	app, _ := st.d.App(ctx, "crm")
	if !app.Encrypt || !app.VerifyRequests || !app.IdPInitiated || app.LaunchURL != "https://crm.example.com/start" || app.NameID != "persistent" {
		t.Errorf("after turning the options on: %+v", app)
	}
	_, page := admin.get("/admin/apps/crm")
	for _, want := range []string{`name="encrypt" value="on" checked`, `name="verify_requests" value="on" checked`, `value="https://crm.example.com/start"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the app's page does not show %s", want)
		}
	}
	if resp, body := admin.submit("/admin/apps/crm", "/admin/apps/crm", url.Values{"preset": {"generic"}, "nameid": {"email"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("turning the options off: %d\n%.600s", resp.StatusCode, body)
	}
	if app, _ := st.d.App(ctx, "crm"); app.Encrypt || app.VerifyRequests || app.LaunchURL != "" || !app.IdPInitiated {
		t.Errorf("after turning the options off: %+v", app)
	}
}

// The app's page gives what to paste into the app: the SSO URL, the
// entity ID, the metadata URL, and the signing certificate the metadata
// carries, with a download of the metadata; the Cloudflare guide gives
// the same values.
func TestAppPasteValues(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	st.addApp("wiki")
	admin := st.client()
	admin.signIn("/admin/", "admin")
	cert, err := samlidp.SigningCertificate(context.Background(), st.d)
	if err != nil {
		t.Fatal(err)
	}
	pemCert := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
	_, md := admin.get("/saml/metadata")
	if !strings.Contains(md, base64.StdEncoding.EncodeToString(cert.Raw)) {
		t.Fatal("the metadata does not carry the signing certificate")
	}
	want := []string{`<code id="sso-url">` + st.srv.URL + `/saml/sso</code>`, `<code id="idp-entity-id">` + st.srv.URL + `/saml/metadata</code>`,
		`<code id="metadata-url">` + st.srv.URL + `/saml/metadata</code>`, `href="/saml/metadata" download=`}
	_, page := admin.get("/admin/apps/wiki")
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("the app's page lacks %s", w)
		}
	}
	if !strings.Contains(html.UnescapeString(page), strings.TrimSpace(pemCert)) {
		t.Error("the app's page does not show the signing certificate")
	}
	_, guide := admin.get("/admin/apps/guide/cloudflare")
	for _, v := range []string{st.srv.URL + "/saml/sso", st.srv.URL + "/saml/metadata"} {
		if !strings.Contains(guide, v) {
			t.Errorf("the Cloudflare guide lacks %s", v)
		}
	}
}
