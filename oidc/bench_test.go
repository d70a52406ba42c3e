package oidc

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/signin"
)

// The budget: one authorization-code exchange with its ID token
// costs at most 1.5× one RS256 signature. Run both side by side:
//
//	go test -run '^$' -bench 'CodeExchange|RS256' ./oidc
//
// The exchange includes a durable bbolt commit, so on a busy disk its
// wall time measures the disk; TMPDIR=/dev/shm leaves the CPU's share.

// BenchmarkCodeExchange is the token endpoint's work for one code: parse
// the request, authenticate the client, check PKCE, redeem the code,
// store the access and refresh tokens, and sign the ID token. Making the
// code (the sign-in's part) is outside the timer.
func BenchmarkCodeExchange(b *testing.B) {
	ctx := context.Background()
	d := dirtest.New(b, nil)
	u, err := d.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com", GivenName: "Alice", Surname: "Liddell"})
	if err != nil {
		b.Fatal(err)
	}
	app, secret, err := d.CreateOIDCApp(ctx, directory.App{Name: "app", OIDC: &directory.OIDCClient{RedirectURIs: []string{"https://app.example/cb"}}})
	if err != nil {
		b.Fatal(err)
	}
	ext, _ := url.Parse("https://sso.example.com")
	p, err := New(ctx, d, signin.New(d, signin.Options{ExternalURL: ext}), Options{})
	if err != nil {
		b.Fatal(err)
	}
	h, s := p.Handler(), &storage{p: p}
	const verifier = "a-verifier-of-enough-length-for-pkce-0123456789"
	challenge := oidc.NewSHACodeChallenge(verifier)
	issuerCtx := op.ContextWithIssuer(ctx, p.issuer)
	code := func() string {
		req, err := s.CreateAuthRequest(ctx, &oidc.AuthRequest{ClientID: app.OIDC.ClientID, RedirectURI: "https://app.example/cb", ResponseType: oidc.ResponseTypeCode,
			Scopes: []string{"openid", "profile", "email", "groups", "offline_access"}, Nonce: "n", CodeChallenge: challenge, CodeChallengeMethod: oidc.CodeChallengeMethodS256}, "")
		if err != nil {
			b.Fatal(err)
		}
		a := req.(*authRequest)
		if err := d.CompleteOIDCRequest(ctx, a.rec.ID, u.ID, time.Now(), []string{"pwd"}); err != nil {
			b.Fatal(err)
		}
		a.rec.Done, a.rec.UserID = true, u.ID
		resp, err := op.BuildAuthResponseCodeResponsePayload(issuerCtx, a, p.op)
		if err != nil {
			b.Fatal(err)
		}
		return resp.Code
	}
	for b.Loop() {
		b.StopTimer()
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code()}, "redirect_uri": {"https://app.example/cb"}, "code_verifier": {verifier}}
		req := httptest.NewRequest(http.MethodPost, "https://sso.example.com/oidc/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(app.OIDC.ClientID, secret)
		rec := httptest.NewRecorder()
		b.StartTimer()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"id_token"`) {
			b.Fatalf("token endpoint: %d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkRS256 is one RS256 signature with a 2048-bit key, the unit of
// the budget.
func BenchmarkRS256(b *testing.B) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("header.payload"))
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:]); err != nil {
			b.Fatal(err)
		}
	}
}
