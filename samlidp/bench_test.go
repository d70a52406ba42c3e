package samlidp

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/signin"
)

func benchIdP(b *testing.B) (*IdP, directory.App, directory.User, []string) {
	ctx := context.Background()
	d := dirtest.New(b, nil)
	if err := EnsureKey(ctx, d); err != nil {
		b.Fatal(err)
	}
	u, err := d.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	if err != nil {
		b.Fatal(err)
	}
	var groups []string
	for i := range 10 {
		g, err := d.CreateGroup(ctx, directory.Group{CN: fmt.Sprintf("group%d", i), Users: []string{u.ID}})
		if err != nil {
			b.Fatal(err)
		}
		groups = append(groups, g.CN)
	}
	const acs = "https://team.cloudflareaccess.com/cdn-cgi/access/callback"
	app, err := Register(ctx, d, AppSpec{Name: "cf", Preset: "cloudflare", EntityID: acs, ACS: acs})
	if err != nil {
		b.Fatal(err)
	}
	ext, _ := url.Parse("https://sso.example.com")
	return New(d, signin.New(d, signin.Options{ExternalURL: ext}), Options{}), app, u, groups
}

// BenchmarkLoginWork is the IdP's work for one login: parse and check the
// AuthnRequest (including the replay record), build the assertion, sign
// it and the Response, and encode the result.
func BenchmarkLoginWork(b *testing.B) {
	idp, app, u, groups := benchIdP(b)
	s := signin.Session{ID: "s", UserID: u.ID, AuthTime: time.Now(), Methods: []string{"pwd"}}
	// One deflater for every request: a new one is 600 KB of garbage,
	// whose collection would be billed to the IdP.
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.DefaultCompression)
	b.ResetTimer()
	for n := 0; b.Loop(); n++ {
		b.StopTimer() // the SP's work: write and deflate the request
		xml := fmt.Sprintf(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="id-%d" Version="2.0" IssueInstant="%s" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"><saml:Issuer>%s</saml:Issuer></samlp:AuthnRequest>`,
			n, time.Now().UTC().Format(time.RFC3339), app.EntityID)
		buf.Reset()
		w.Reset(&buf)
		w.Write([]byte(xml))
		w.Close()
		r := httptest.NewRequest("GET", "/saml/sso?"+url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}}.Encode(), nil)
		b.StartTimer()
		in, ref := idp.parseRequest(r)
		if ref != nil {
			b.Fatal(ref)
		}
		raw, _, err := idp.buildResponse(r.Context(), in.app, u, groups, s, parked{AppID: app.ID, RequestID: in.req.ID, ACS: in.acs})
		if err != nil {
			b.Fatal(err)
		}
		_ = base64.StdEncoding.EncodeToString(raw)
	}
}

// BenchmarkTwoSignatures is the floor: the two RSA-2048 signatures alone.
func BenchmarkTwoSignatures(b *testing.B) {
	idp, _, _, _ := benchIdP(b)
	ring, err := idp.keys.Load(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("x"))
	for b.Loop() {
		for range 2 {
			if _, err := ring.Current.Signer.Sign(rand.Reader, digest[:], crypto.SHA256); err != nil {
				b.Fatal(err)
			}
		}
	}
}
