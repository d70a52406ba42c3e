package oidc_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/atrium-dir/atrium/directory"
)

// Each refusal below is a clean OAuth error, and no tokens come out of it.

// An unregistered redirect URI is never redirected to: the browser gets
// an error page (the test browser would fail to reach the URI otherwise).
func TestWrongRedirectURIIsNotFollowed(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	r.conf.RedirectURL = "http://127.0.0.1:1/callback-evil"
	p := r.authorize(newBrowser(t), "s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "redirect_uri") {
		t.Fatalf("unregistered redirect URI: %d %s\n%s", p.status, p.url, p.body)
	}
}

// A code works once. Its second use is invalid_grant and revokes the
// tokens the first use gave (RFC 6749 4.1.2).
func TestReusedCodeRevokesItsTokens(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	code, verifier := r.login(newBrowser(t), "alice")
	tok, _ := r.exchange(code, verifier)
	again, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if oauthError(err) != "invalid_grant" || again != nil {
		t.Fatalf("second use of a code: %v %v", again, err)
	}
	if _, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("the access token from a reused code still reads UserInfo")
	}
	if _, err := r.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
		t.Errorf("the refresh token from a reused code: %v", err)
	}
}

func TestBadPKCEVerifier(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	code, _ := r.login(newBrowser(t), "alice")
	tok, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	if oauthError(err) != "invalid_grant" || tok != nil {
		t.Fatalf("wrong PKCE verifier: %v %v", tok, err)
	}
	tok, err = r.conf.Exchange(context.Background(), code)
	if oauthError(err) != "invalid_request" || tok != nil {
		t.Fatalf("missing PKCE verifier: %v %v", tok, err)
	}
}

// A code expires CodeTTL after it was given (the directory's clock).
func TestExpiredCode(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	code, verifier := r.login(newBrowser(t), "alice")
	h.clock.Advance(directory.CodeTTL + time.Second)
	tok, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	if oauthError(err) != "invalid_grant" || tok != nil {
		t.Fatalf("expired code: %v %v", tok, err)
	}
}

func TestWrongClientSecret(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	code, verifier := r.login(newBrowser(t), "alice")
	r.conf.ClientSecret = r.secret + "x"
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInHeader, oauth2.AuthStyleInParams} {
		r.conf.Endpoint.AuthStyle = style
		tok, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
		if oauthError(err) != "invalid_client" || tok != nil {
			t.Fatalf("wrong secret (style %d): %v %v", style, tok, err)
		}
	}
	// A failed client authentication does not use the code up.
	r.conf.ClientSecret = r.secret
	r.exchange(code, verifier)
}

// A tampered ID token, or one whose header says alg none, does not verify
// against the JWKS; a tampered access token reads nothing.
func TestTamperedTokens(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	b := newBrowser(t)
	tok, _ := r.exchange(r.login(b, "alice"))
	raw := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	must(t, err)
	forged := strings.Replace(string(payload), h.userID("alice"), h.userID("bob"), 1)
	tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(forged)) + "." + parts[2]
	if _, err := r.verifier.Verify(context.Background(), tampered); err == nil {
		t.Error("a tampered ID token verified")
	}
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
	if _, err := r.verifier.Verify(context.Background(), none); err == nil {
		t.Error("an alg none ID token verified")
	}
	// Atrium itself refuses an alg none id_token_hint at end_session, and
	// the session lives on.
	out := b.get(h.srv.URL + "/oidc/end_session?id_token_hint=" + none)
	if out.status != http.StatusBadRequest || !strings.Contains(out.body, "invalid_request") {
		t.Errorf("end_session with an alg none hint: %d %s", out.status, out.body)
	}
	if p := r.authorize(b, "s", oauth2.SetAuthURLParam("prompt", "none")); p.callback.Get("code") == "" {
		t.Errorf("the session ended on a forged hint: %v", p.callback)
	}

	at := []byte(tok.AccessToken)
	at[len(at)/2] ^= 1
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/oidc/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+string(at))
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("userinfo with a tampered access token: %d", resp.StatusCode)
	}
}

// Disabling the user ends their refresh tokens; enabling them again does
// not bring them back.
func TestRefreshAfterUserDisabled(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	tok, _ := r.exchange(r.login(newBrowser(t), "alice"))
	ctx := context.Background()
	_, err := h.dir.SetDisabled(ctx, "alice", true)
	must(t, err)
	got, err := r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if oauthError(err) != "invalid_grant" || got != nil {
		t.Fatalf("refresh of a disabled user: %v %v", got, err)
	}
	_, err = h.dir.SetDisabled(ctx, "alice", false)
	must(t, err)
	if _, err := r.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
		t.Fatalf("refresh after enabling again: %v", err)
	}
	if _, err := r.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("the access token of the revoked grant still reads UserInfo")
	}
}

// A public client must use PKCE with S256; plain is refused from anyone.
func TestPublicClientNeedsS256(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("spa", directory.OIDCClient{Public: true}, nil, false)
	if r.secret != "" {
		t.Fatal("a public client has a secret")
	}
	b := newBrowser(t)
	if p := r.authorize(b, "s"); p.callback.Get("error") != "invalid_request" {
		t.Fatalf("public client without PKCE: %d %v", p.status, p.callback)
	}
	plain := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("code_challenge", "abcdefghijabcdefghijabcdefghijabcdefghijabc"), oauth2.SetAuthURLParam("code_challenge_method", "plain")}
	if p := r.authorize(b, "s", plain...); p.callback.Get("error") != "invalid_request" {
		t.Fatalf("PKCE plain: %d %v", p.status, p.callback)
	}
	r.exchange(r.login(b, "bob"))
}

// prompt=none answers from the session or with login_required, keeping a
// long state; prompt=login and max_age ask for the password again and
// move auth_time; a request without a nonce still succeeds.
func TestPromptAndMaxAge(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	b := newBrowser(t)
	state := strings.Repeat("s", 128)
	if p := r.authorize(b, state, oauth2.SetAuthURLParam("prompt", "none")); p.callback.Get("error") != "login_required" || p.callback.Get("state") != state {
		t.Fatalf("prompt=none without a session: %v", p.callback)
	}
	_, first := r.exchange(r.login(b, "alice"))

	silent := r.authorize(b, "s2", oauth2.SetAuthURLParam("prompt", "none"))
	if silent.callback.Get("code") == "" {
		t.Fatalf("prompt=none with a session: %v", silent.callback)
	}
	_, id := r.exchange(silent.callback.Get("code"), "")
	if id.Nonce != "" {
		t.Errorf("nonce %q without one asked", id.Nonce)
	}

	for _, opt := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "login"), oauth2.SetAuthURLParam("max_age", "1")} {
		h.clock.Advance(3 * time.Second)
		p := r.authorize(b, "s3", opt)
		done := b.signIn(h.srv.URL, p, "alice")
		_, again := r.exchange(done.callback.Get("code"), "")
		var c1, c2 claims
		must(t, first.Claims(&c1))
		must(t, again.Claims(&c2))
		if c2.AuthTime <= c1.AuthTime {
			t.Errorf("auth_time %d not after %d", c2.AuthTime, c1.AuthTime)
		}
		first = again
	}
}

// A user outside the app's groups sees the same refusal page as for a
// SAML app, audited, and the client gets no code; prompt=none gets
// access_denied instead.
func TestGroupsRefusal(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("wiki", directory.OIDCClient{}, []string{"everyone"}, false)
	b := newBrowser(t)
	p := b.signIn(h.srv.URL, r.authorize(b, "s", gooidc.Nonce("n")), "bob")
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "You do not have access to wiki.") || p.callback != nil {
		t.Fatalf("bob, outside the groups: %d %v\n%s", p.status, p.callback, p.body)
	}
	if silent := r.authorize(b, "s", oauth2.SetAuthURLParam("prompt", "none")); silent.callback.Get("error") != "access_denied" {
		t.Fatalf("passive request of bob: %v", silent.callback)
	}
	events, err := h.dir.AuditEvents(context.Background(), directory.AuditQuery{Subject: "bob"})
	must(t, err)
	denied := 0
	for _, e := range events {
		if e.Service == "oidc:wiki" && e.Result == "denied" && strings.Contains(e.Detail, "groups") {
			denied++
		}
	}
	if denied != 2 {
		t.Errorf("audited %d refusals, want 2: %+v", denied, events)
	}
	// alice is in everyone through staff (nested).
	r.exchange(r.login(newBrowser(t), "alice"))
}

// An unknown client is invalid_client at the token endpoint, whichever
// grant it asks for (found by FuzzAuthorizeAndToken: it was a 500).
func TestUnknownClientAtTokenEndpoint(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	r.conf.ClientID, r.secret = "no-such-client", "x"
	for _, grant := range []url.Values{
		{"grant_type": {"refresh_token"}, "refresh_token": {"r"}},
		{"grant_type": {"authorization_code"}, "code": {"c"}, "redirect_uri": {redirectURI}},
	} {
		resp := r.postForm(t, h.srv.URL+"/oidc/token", grant)
		var body map[string]any
		must(t, decodeJSON(resp, &body))
		resp.Body.Close()
		want := "invalid_client"
		if grant.Get("code") != "" {
			want = "invalid_grant" // the library reads the code first
		}
		if resp.StatusCode >= 500 || body["error"] != want || body["access_token"] != nil {
			t.Errorf("%s grant of an unknown client: %d %v", grant.Get("grant_type"), resp.StatusCode, body)
		}
	}
}

// Taken out of the app's groups, a user can no longer refresh.
func TestRefreshAfterLeavingTheAppsGroups(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, []string{"staff"}, false)
	tok, _ := r.exchange(r.login(newBrowser(t), "alice"))
	next := r.refresh(t, tok.RefreshToken)
	_, err := h.dir.ChangeMembers(context.Background(), "staff", nil, []directory.MemberRef{{Name: "alice"}})
	must(t, err)
	got, err := r.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: next.RefreshToken}).Token()
	if oauthError(err) != "invalid_grant" || got != nil {
		t.Fatalf("refresh after leaving staff: %v %v", got, err)
	}
	if _, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(next)); err == nil {
		t.Error("the access token of the ended grant still reads UserInfo")
	}
}

// A password change ends the refresh tokens issued before it.
func TestRefreshAfterPasswordChange(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	tok, _ := r.exchange(r.login(newBrowser(t), "alice"))
	h.clock.Advance(time.Second)
	must(t, h.dir.SetPassword(context.Background(), "alice", "a brand new passphrase"))
	got, err := r.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if oauthError(err) != "invalid_grant" || got != nil {
		t.Fatalf("refresh after a password change: %v %v", got, err)
	}
}

// Removing an app ends what its tokens can do.
func TestTokensOfARemovedApp(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	tok, _ := r.exchange(r.login(newBrowser(t), "alice"))
	must(t, h.dir.DeleteApp(context.Background(), "app"))
	if _, err := r.provider.UserInfo(context.Background(), oauth2.StaticTokenSource(tok)); err == nil {
		t.Error("the access token of a removed app still reads UserInfo")
	}
	got, err := r.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err == nil || got != nil {
		t.Errorf("refresh for a removed app: %v %v", got, err)
	}
}
