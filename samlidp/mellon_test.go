package samlidp_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/apachetest"
	"github.com/atrium-dir/atrium/samlidp"
)

// Apache httpd with mod_auth_mellon as a real SAML SP: it guards a page
// with MellonCond memberOf staff and signs its AuthnRequests, and the app
// registered in Atrium from its metadata verifies them.

// mellonPage is the page mellon guards; SSI shows what mellon accepted.
const mellonPage = "/protected/index.shtml"

// mellonSP is one running apache2 with mod_auth_mellon.
type mellonSP struct {
	*apachetest.Server
	app directory.App
}

// PageURL is the guarded page.
func (sp *mellonSP) PageURL() string { return sp.URL + mellonPage }

// ACS is mellon's assertion consumer service.
func (sp *mellonSP) ACS() string { return sp.URL + "/mellon/postResponse" }

// mellonStart runs apache2 with mod_auth_mellon until the test ends, and
// registers it as the app "mellon" in h's IdP from its metadata (email
// NameID, memberOf released).
func mellonStart(t *testing.T, h *harness) *mellonSP {
	t.Helper()
	sp := &mellonSP{Server: apachetest.New(t, "mod_auth_mellon", "libapache2-mod-auth-mellon")}
	certB64 := mellonKeyPair(t, sp.Dir)
	resp, err := http.Get(h.srv.URL + "/saml/metadata")
	must(t, err)
	idpMetadata, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	must(t, err)
	must(t, os.WriteFile(filepath.Join(sp.Dir, "idp-metadata.xml"), idpMetadata, 0o644))
	must(t, os.MkdirAll(filepath.Join(sp.Dir, "htdocs", "protected"), 0o755))
	must(t, os.WriteFile(filepath.Join(sp.Dir, "htdocs", mellonPage), []byte(mellonPageHTML), 0o644))

	var metadata []byte
	// The SP's metadata names its URL, so each port tried needs its own.
	sp.Start(t, mellonConf, func(map[string]any) {
		metadata = mellonMetadata(sp, certB64)
		must(t, os.WriteFile(filepath.Join(sp.Dir, "sp-metadata.xml"), metadata, 0o644))
	}, func() bool { return mellonServesMetadata(sp) })
	sp.app = h.addApp(samlidp.AppSpec{Name: "mellon", Metadata: metadata, NameID: "email", Attributes: []string{"memberOf=groups"}})
	return sp
}

// mellonServesMetadata reports whether sp.URL answers with sp's metadata,
// so the port is apache's, not another program's.
func mellonServesMetadata(sp *mellonSP) bool {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(sp.URL + "/mellon/metadata")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return err == nil && resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`entityID="`+sp.URL+`/mellon/metadata"`))
}

// mellonKeyPair writes a fresh SP key and self-signed certificate to dir and
// returns the certificate's DER in base64, for the SP metadata.
func mellonKeyPair(t *testing.T, dir string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "Atrium test SP (mod_auth_mellon)"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	// 0644: apache reads the key after it dropped root; it is a throwaway
	// key in a throwaway folder.
	must(t, os.WriteFile(filepath.Join(dir, "sp.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "sp.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	return base64.StdEncoding.EncodeToString(der)
}

// mellonMetadata is the SP metadata mellon serves and Atrium registers:
// signed AuthnRequests, an email NameID and one HTTP-POST ACS.
func mellonMetadata(sp *mellonSP, certB64 string) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%[1]s/mellon/metadata">
  <SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>%[2]s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </KeyDescriptor>
    <SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%[1]s/mellon/logout"/>
    <NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</NameIDFormat>
    <AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%[3]s" index="0" isDefault="true"/>
  </SPSSODescriptor>
</EntityDescriptor>
`, sp.URL, certB64, sp.ACS())
}

// mellonPageHTML shows, through server-side includes, the NameID and the
// memberOf values mellon accepted.
const mellonPageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Protected by mod_auth_mellon</title></head>
<body style="font-family: sans-serif; margin: 2rem">
<h1>Protected by mod_auth_mellon</h1>
<p>Signed in as <strong id="nameid"><!--#echo var="MELLON_NAME_ID" --></strong></p>
<p>memberOf: <strong id="groups"><!--#echo var="MELLON_memberOf" --></strong></p>
</body></html>
`

// mellonConf loads only what the SP needs. The mellon settings for the
// whole site make /mellon/ its endpoint; /protected/ requires a mellon
// session and membership of staff. Mellon marks the cookie it sets
// before the login SameSite=None, which browsers drop without Secure; over
// plain http, MELLON_DISABLE_SAMESITE leaves the attribute off (SetEnvIf,
// as SetEnv runs after mellon reads it). Atrium and mellon share the site
// 127.0.0.1, so the cookie comes back with the Response.
var mellonConf = apachetest.Config(`
LoadModule setenvif_module {{.Modules}}/mod_setenvif.so
LoadModule auth_mellon_module {{.Modules}}/mod_auth_mellon.so
LogLevel warn auth_mellon:info
SetEnvIf Request_URI . MELLON_DISABLE_SAMESITE=1
<Location />
    MellonEndpointPath /mellon
    MellonSPPrivateKeyFile "{{.Dir}}/sp.key"
    MellonSPCertFile "{{.Dir}}/sp.crt"
    MellonSPMetadataFile "{{.Dir}}/sp-metadata.xml"
    MellonIdPMetadataFile "{{.Dir}}/idp-metadata.xml"
    MellonSecureCookie Off
    MellonMergeEnvVars On ","
</Location>
<Location /protected/>
    AuthType Mellon
    MellonEnable auth
    Require valid-user
    MellonCond memberOf staff
    Options +Includes
    ForceType "text/html; charset=utf-8"
    SetOutputFilter INCLUDES
</Location>
`)

// mellonLogin signs user in at sp's guarded page with a plain HTTP client:
// the page redirects to Atrium's login, the form is posted, and the
// auto-POST page's Response goes to mellon, which answers with the page (or
// a refusal).
func mellonLogin(t *testing.T, h *harness, sp *mellonSP, user string) page {
	t.Helper()
	b := newBrowser(t)
	login := b.get(sp.PageURL())
	if !strings.HasPrefix(login.url, h.srv.URL+"/login") {
		t.Fatalf("the guarded page led to %s (%d), want Atrium's login page:\n%s", login.url, login.status, login.body)
	}
	post := b.signIn(h.srv.URL, login, user, user+"-password")
	action, form := post.form()
	if action != sp.ACS() || form.Get("SAMLResponse") == "" {
		t.Fatalf("expected a SAML POST form to %s, got %d %s:\n%s", sp.ACS(), post.status, post.url, post.body)
	}
	return b.post(action, form)
}

func TestMellon(t *testing.T) {
	h := newHarness(t)
	sp := mellonStart(t, h)

	t.Run("mellon signs its AuthnRequest and Atrium checks it", func(t *testing.T) {
		if !sp.app.VerifyRequests {
			t.Fatal("registering mellon's metadata (AuthnRequestsSigned) did not turn on request verification")
		}
		// Follow mellon's own redirects (it passes through /mellon/login)
		// up to the one that leaves for Atrium.
		var to *url.URL
		client := &http.Client{CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), h.srv.URL) {
				to = req.URL
				return http.ErrUseLastResponse
			}
			return nil
		}}
		resp, err := client.Get(sp.PageURL())
		must(t, err)
		resp.Body.Close()
		if to == nil {
			t.Fatalf("the guarded page answered %s without sending the browser to Atrium", resp.Status)
		}
		q := to.Query()
		if !strings.HasPrefix(to.String(), h.srv.URL+"/saml/sso?") || q.Get("SAMLRequest") == "" || q.Get("Signature") == "" || q.Get("SigAlg") == "" {
			t.Fatalf("mellon redirected to %s, want a signed HTTP-Redirect request to Atrium", to)
		}
		// The login below shows Atrium accepts the signature; a changed one
		// must be refused.
		tampered := *to
		at := strings.Index(to.RawQuery, "Signature=") + len("Signature=")
		swap := "A"
		if to.RawQuery[at] == 'A' {
			swap = "B"
		}
		tampered.RawQuery = to.RawQuery[:at] + swap + to.RawQuery[at+1:]
		p := newBrowser(t).get(tampered.String())
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "signature is missing or wrong") {
			t.Errorf("a request with a changed signature got %d:\n%s", p.status, p.body)
		}
	})
	t.Run("member of staff sees the page", func(t *testing.T) {
		p := mellonLogin(t, h, sp, "alice")
		if p.status != http.StatusOK || p.url != sp.PageURL() {
			t.Fatalf("got %d at %s, want 200 at %s:\n%s", p.status, p.url, sp.PageURL(), p.body)
		}
		if want := `<strong id="nameid">alice@example.com</strong>`; !strings.Contains(p.body, want) {
			t.Errorf("page lacks %s:\n%s", want, p.body)
		}
		// memberOf carries every effective group, the nested one too.
		m := regexp.MustCompile(`<strong id="groups">([^<]*)</strong>`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("page shows no groups:\n%s", p.body)
		}
		groups := strings.Split(m[1], ",")
		slices.Sort(groups)
		if !slices.Equal(groups, []string{"everyone", "staff"}) {
			t.Errorf("mellon saw memberOf %q, want everyone and staff", m[1])
		}
	})
	t.Run("outside staff is refused by mellon", func(t *testing.T) {
		p := mellonLogin(t, h, sp, "bob")
		if p.status != http.StatusForbidden || p.url != sp.PageURL() {
			t.Fatalf("got %d at %s, want 403 at %s:\n%s", p.status, p.url, sp.PageURL(), p.body)
		}
		// The refusal is mellon's, after it accepted the assertion.
		log, err := os.ReadFile(sp.ErrorLog)
		must(t, err)
		if !strings.Contains(string(log), "failed to match MellonCond memberOf staff") {
			t.Errorf("apache's error.log does not say MellonCond refused bob:\n%s", log)
		}
	})
}
