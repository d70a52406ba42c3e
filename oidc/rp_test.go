package oidc_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/atrium-dir/atrium/directory"
)

type claims struct {
	Sub               string   `json:"sub"`
	Email             string   `json:"email"`
	EmailVerified     bool     `json:"email_verified"`
	Name              string   `json:"name"`
	GivenName         string   `json:"given_name"`
	FamilyName        string   `json:"family_name"`
	PreferredUsername string   `json:"preferred_username"`
	Groups            []string `json:"groups"`
	AMR               []string `json:"amr"`
	ACR               string   `json:"acr"`
	Nonce             string   `json:"nonce"`
	AuthTime          int64    `json:"auth_time"`
}

func (h *harness) userID(uid string) string {
	h.t.Helper()
	u, err := h.dir.User(context.Background(), uid)
	must(h.t, err)
	return u.ID
}

// A Go relying party (go-oidc, x/oauth2) signs alice in through the real
// form with PKCE, verifies the ID token against the JWKS, reads UserInfo,
// refreshes with rotation, and sees every token in the audit log.
func TestRelyingPartyCodeFlow(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("grafana", directory.OIDCClient{}, []string{"staff"}, false)
	r.conf.Endpoint.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic
	b := newBrowser(t)
	tok, id := r.exchange(r.login(b, "alice"))
	if id.Nonce != "nonce-1" {
		t.Errorf("nonce = %q", id.Nonce)
	}
	must(t, id.VerifyAccessToken(tok.AccessToken))
	var c claims
	must(t, id.Claims(&c))
	want := claims{Sub: h.userID("alice"), Email: "alice@example.com", EmailVerified: true, Name: "Alice Liddell", GivenName: "Alice", FamilyName: "Liddell",
		PreferredUsername: "alice", Groups: []string{"everyone", "staff"}, AMR: []string{"pwd"}, ACR: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport", Nonce: "nonce-1"}
	c.AuthTime = 0
	if !equalClaims(c, want) {
		t.Errorf("ID token claims:\n got %+v\nwant %+v", c, want)
	}

	info, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok))
	must(t, err)
	var ic claims
	must(t, info.Claims(&ic))
	if ic.Sub != want.Sub || !slices.Equal(ic.Groups, want.Groups) || ic.PreferredUsername != "alice" || ic.Email != want.Email {
		t.Errorf("userinfo = %+v", ic)
	}

	// Refresh: a new refresh token each time; the old one is dead, and
	// replaying it ends the new one too (a copied token).
	first := tok.RefreshToken
	if first == "" {
		t.Fatal("no refresh token for offline_access")
	}
	next := r.refresh(t, first)
	if next.RefreshToken == "" || next.RefreshToken == first || next.AccessToken == tok.AccessToken {
		t.Fatalf("refresh did not rotate: %+v", next)
	}
	if raw, _ := next.Extra("id_token").(string); raw != "" {
		_, err := r.verifier.Verify(context.Background(), raw)
		must(t, err)
	}
	if _, err := r.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: first}).Token(); oauthError(err) != "invalid_grant" {
		t.Fatalf("replayed refresh token: %v", err)
	}
	if _, err := r.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: next.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
		t.Fatalf("the rotated token outlived the replay of its parent: %v", err)
	}

	events, err := h.dir.AuditEvents(context.Background(), directory.AuditQuery{Subject: "alice"})
	must(t, err)
	issued := 0
	for _, e := range events {
		if e.Kind == "token" && e.Service == "oidc:grafana" && e.Result == directory.ResultOK {
			issued++
			if !strings.Contains(e.Detail, "scopes=openid,profile,email,groups,offline_access") {
				t.Errorf("audit detail %q lacks the scopes", e.Detail)
			}
		}
	}
	if issued != 2 {
		t.Errorf("audited %d token issues, want 2 (code and refresh): %+v", issued, events)
	}
}

func equalClaims(a, b claims) bool {
	return a.Sub == b.Sub && a.Email == b.Email && a.EmailVerified == b.EmailVerified && a.Name == b.Name && a.GivenName == b.GivenName &&
		a.FamilyName == b.FamilyName && a.PreferredUsername == b.PreferredUsername && slices.Equal(a.Groups, b.Groups) &&
		slices.Equal(a.AMR, b.AMR) && a.ACR == b.ACR && a.Nonce == b.Nonce
}

func (r *rp) refresh(t *testing.T, refresh string) *oauth2.Token {
	t.Helper()
	tok, err := r.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: refresh}).Token()
	must(t, err)
	return tok
}

// client_secret_post works as well as Basic authentication.
func TestClientSecretPost(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("nextcloud", directory.OIDCClient{}, nil, false)
	r.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	r.exchange(r.login(newBrowser(t), "bob"))
}

// Revocation (RFC 7009): a revoked access token no longer reads UserInfo;
// a revoked refresh token ends its grant. Introspection (RFC 7662) says
// so too, and tells another client nothing.
func TestRevocationAndIntrospection(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	other := h.addClient("other", directory.OIDCClient{}, nil, false)
	tok, _ := r.exchange(r.login(newBrowser(t), "alice"))

	if got := introspect(t, r, tok.AccessToken); got["active"] != true || got["sub"] != h.userID("alice") || got["client_id"] != r.app.OIDC.ClientID {
		t.Fatalf("introspection of a live token: %v", got)
	}
	if got := introspect(t, other, tok.AccessToken); got["active"] != false {
		t.Fatalf("another client introspected the token: %v", got)
	}
	revoke(t, r, tok.AccessToken, "access_token")
	if _, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Fatal("userinfo with a revoked access token")
	}
	if got := introspect(t, r, tok.AccessToken); got["active"] != false {
		t.Fatalf("introspection of a revoked token: %v", got)
	}

	next := r.refresh(t, tok.RefreshToken)
	revoke(t, r, next.RefreshToken, "")
	if _, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(next)); err == nil {
		t.Fatal("the access token outlived its revoked refresh token")
	}
	if _, err := r.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: next.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
		t.Fatalf("revoked refresh token: %v", err)
	}
}

func (r *rp) postForm(t *testing.T, endpoint string, form url.Values) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(r.conf.ClientID), url.QueryEscape(r.secret))
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	return resp
}

func introspect(t *testing.T, r *rp, token string) map[string]any {
	t.Helper()
	resp := r.postForm(t, r.h.srv.URL+"/oidc/introspect", url.Values{"token": {token}})
	defer resp.Body.Close()
	var out map[string]any
	must(t, decodeJSON(resp, &out))
	return out
}

func revoke(t *testing.T, r *rp, token, hint string) {
	t.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	resp := r.postForm(t, r.h.srv.URL+"/oidc/revoke", form)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
}

// RP-initiated logout ends the Atrium session: the user goes back to the
// registered post-logout URI with the state, and prompt=none then says
// login_required.
func TestEndSessionSignsOut(t *testing.T) {
	h := newHarness(t)
	const after = redirectURI + "/signed-out"
	r := h.addClient("app", directory.OIDCClient{PostLogoutURIs: []string{after}}, nil, false)
	b := newBrowser(t)
	tok, _ := r.exchange(r.login(b, "alice"))
	if p := r.authorize(b, "silent", gooidc.Nonce("n")); p.callback.Get("code") == "" {
		t.Fatalf("no silent sign-in with a session: %d %v", p.status, p.callback)
	}
	endSession := r.provider.Endpoint().AuthURL[:strings.LastIndex(r.provider.Endpoint().AuthURL, "/")] + "/end_session"
	q := url.Values{"id_token_hint": {tok.Extra("id_token").(string)}, "post_logout_redirect_uri": {after}, "state": {"bye"}}
	out := b.get(endSession + "?" + q.Encode())
	if out.callback.Get("state") != "bye" {
		t.Fatalf("end_session did not return to the post-logout URI: %d %v\n%s", out.status, out.callback, out.body)
	}
	p := r.authorize(b, "silent", oauth2.SetAuthURLParam("prompt", "none"))
	if p.callback.Get("error") != "login_required" {
		t.Fatalf("prompt=none after logout: %v", p.callback)
	}
}

// A client's lifetimes bound its tokens: the access token's expires_in,
// the ID token's exp, and the refresh token (by the directory's clock).
func TestTokenLifetimes(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{AccessTTL: 5 * time.Minute, IDTokenTTL: 10 * time.Minute, RefreshTTL: time.Hour}, nil, false)
	tok, id := r.exchange(r.login(newBrowser(t), "alice"))
	if left := time.Until(tok.Expiry); left < 4*time.Minute || left > 6*time.Minute {
		t.Errorf("access token expires in %s, want about 5m", left)
	}
	if left := time.Until(id.Expiry); left < 9*time.Minute || left > 11*time.Minute {
		t.Errorf("ID token expires in %s, want about 10m", left)
	}
	h.clock.Advance(time.Hour + time.Second)
	if _, err := r.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
		t.Fatalf("refresh token past its lifetime: %v", err)
	}
}
