package samlidp_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/samlidp"
	"github.com/atrium-dir/atrium/signin"
)

// FuzzSSO feeds arbitrary AuthnRequests and RelayStates to the SSO
// endpoint over both bindings, without the panic guard the server wraps
// it in: every input must get an answer below 500, never a panic.
func FuzzSSO(f *testing.F) {
	ctx := context.Background()
	d := dirtest.New(f, nil)
	if err := samlidp.EnsureKey(ctx, d); err != nil {
		f.Fatal(err)
	}
	if _, err := samlidp.Register(ctx, d, samlidp.AppSpec{Name: "cloudflare", Preset: "cloudflare", EntityID: cloudflareACS, ACS: cloudflareACS}); err != nil {
		f.Fatal(err)
	}
	ext, _ := url.Parse("http://idp.example")
	idp := samlidp.New(d, signin.New(d, signin.Options{ExternalURL: ext}), samlidp.Options{}).Handler()

	now := time.Now()
	for _, seed := range [][]byte{
		authnXML("id-seed", cloudflareACS, cloudflareACS, now, ""),
		authnXML("id-seed2", cloudflareACS, "", now, ` ForceAuthn="true" IsPassive="true"`),
		authnXML("id-seed3", "", "javascript:alert(1)", now.Add(time.Hour), ""),
		[]byte(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"><samlp:NameIDPolicy Format="x"/></samlp:AuthnRequest>`),
		[]byte("<<<"),
		nil,
	} {
		f.Add(seed, "relay")
	}
	f.Fuzz(func(t *testing.T, request []byte, relayState string) {
		var deflated bytes.Buffer
		w, _ := flate.NewWriter(&deflated, flate.BestSpeed)
		w.Write(request)
		w.Close()
		redirect := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(deflated.Bytes())}, "RelayState": {relayState}}
		post := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(request)}, "RelayState": {relayState}}
		for _, req := range []*http.Request{
			httptest.NewRequest(http.MethodGet, "/saml/sso?"+redirect.Encode(), nil),
			httptest.NewRequest(http.MethodPost, "/saml/sso", strings.NewReader(post.Encode())),
		} {
			if req.Method == http.MethodPost {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			rec := httptest.NewRecorder()
			idp.ServeHTTP(rec, req)
			if rec.Code >= 500 {
				t.Fatalf("%s answered %d:\n%s", req.Method, rec.Code, rec.Body)
			}
		}
	})
}
