package oidc_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/oidc"
	"github.com/atrium-dir/atrium/signin"
)

// FuzzAuthorizeAndToken feeds arbitrary parameters to the authorize and
// token endpoints, without the panic guard the server wraps them in:
// every input gets an answer below 500, authorize redirects only to the
// registered redirect URI or to Atrium's own login, and the token
// endpoint never issues a token.
func FuzzAuthorizeAndToken(f *testing.F) {
	ctx := context.Background()
	d := dirtest.New(f, nil)
	app, secret, err := d.CreateOIDCApp(ctx, directory.App{Name: "app", OIDC: &directory.OIDCClient{RedirectURIs: []string{redirectURI}}})
	if err != nil {
		f.Fatal(err)
	}
	ext, _ := url.Parse("http://idp.example")
	p, err := oidc.New(ctx, d, signin.New(d, signin.Options{ExternalURL: ext}), oidc.Options{})
	if err != nil {
		f.Fatal(err)
	}
	h := p.Handler()
	id := app.OIDC.ClientID
	for _, seed := range []string{
		"response_type=code&client_id=" + id + "&redirect_uri=" + url.QueryEscape(redirectURI) + "&scope=openid+groups&state=s&nonce=n&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGEzUhHiM&code_challenge_method=S256",
		"response_type=code&client_id=" + id + "&redirect_uri=" + url.QueryEscape(redirectURI) + "&scope=openid&prompt=none+login&max_age=-1",
		"response_type=token+id_token&client_id=" + id + "&redirect_uri=javascript:alert(1)&scope=openid&request=eyJhbGciOiJub25lIn0.e30.",
		"grant_type=authorization_code&code=x&redirect_uri=" + url.QueryEscape(redirectURI) + "&code_verifier=v&client_id=" + id + "&client_secret=" + secret,
		"grant_type=refresh_token&refresh_token=r&scope=openid+offline_access&client_id=" + id + "&client_secret=" + secret,
		"grant_type=client_credentials&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=a.b.c",
		"%zz&&==;",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, params string) {
		get := httptest.NewRequest(http.MethodGet, "http://idp.example/oidc/authorize", nil)
		get.URL.RawQuery = params
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, get)
		if rec.Code >= 500 {
			t.Fatalf("authorize answered %d:\n%s", rec.Code, rec.Body)
		}
		if loc := rec.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, redirectURI+"?") && !strings.HasPrefix(loc, "http://idp.example/oidc/login?") {
			t.Fatalf("authorize redirected to %q", loc)
		}
		post := httptest.NewRequest(http.MethodPost, "http://idp.example/oidc/token", strings.NewReader(params))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec = httptest.NewRecorder()
		h.ServeHTTP(rec, post)
		if rec.Code >= 500 || rec.Code == http.StatusOK || strings.Contains(rec.Body.String(), "access_token") {
			t.Fatalf("token answered %d:\n%s", rec.Code, rec.Body)
		}
	})
}
