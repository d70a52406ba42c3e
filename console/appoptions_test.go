package console_test

import (
	"context"
	"encoding/base64"
	"fmt"
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
