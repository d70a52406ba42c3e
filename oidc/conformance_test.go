package oidc_test

// The OpenID Foundation's conformance suite cannot run here. These tests
// stand in for the checks of its Basic OP plan
// (oidcc-basic-certification-test-plan) that apply to Atrium:
//
//	oidcc-server (state, iss/aud/exp/iat/sub, signature, kid in JWKS)  TestBasicIDTokenAndState
//	oidcc-server with client_secret_post                              TestClientSecretPost
//	oidcc-response-type-missing                                       TestBasicErrors
//	oidcc-ensure-registered-redirect-uri                              TestWrongRedirectURIIsNotFollowed
//	oidcc-ensure-request-without-nonce-succeeds-for-code-flow         TestPromptAndMaxAge
//	oidcc-userinfo-get / -post-header / -post-body                     TestBasicUserInfoForms
//	oidcc-scope-profile / -email / -address / -phone / -all            TestBasicScopesAndParameters
//	oidcc-display-page / -popup, oidcc-ensure-other-parameters,
//	  oidcc-id-token-hint, oidcc-login-hint, oidcc-ui-locales,
//	  oidcc-claims-locales, oidcc-acr-values, oidcc-claims-essential  TestBasicScopesAndParameters
//	oidcc-prompt-none-not-logged-in (128-character state)             TestPromptAndMaxAge
//	oidcc-prompt-none-logged-in, oidcc-prompt-login                    TestPromptAndMaxAge
//	oidcc-max-age-1, oidcc-max-age-10000                               TestPromptAndMaxAge, TestBasicMaxAge10000
//	oidcc-codereuse, oidcc-codereuse-30seconds                         TestReusedCodeRevokesItsTokens, TestBasicCodeReuseLater
//	oidcc-unsigned-request-object-supported-correctly-or-rejected,
//	  oidcc-request-uri-unsigned-supported-correctly-or-rejected      TestBasicErrors
//	oidcc-refresh-token                                                TestRelyingPartyCodeFlow
//	oidcc-ensure-pkce-code-verifier-... (PKCE)                         TestRelyingPartyCodeFlow, TestBadPKCEVerifier
//	RFC 9207 iss, if present, equals the issuer                        TestBasicIDTokenAndState
//
// Not applicable: the implicit and hybrid plans (Atrium offers only the
// code flow), so c_hash never appears.

import (
	"context"
	"encoding/json"
	"fmt"
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

// Discovery offers what Atrium does, and nothing it does not.
func TestDiscovery(t *testing.T) {
	h := newHarness(t)
	resp, err := http.Get(h.srv.URL + "/.well-known/openid-configuration")
	must(t, err)
	defer resp.Body.Close()
	var d map[string]any
	must(t, json.NewDecoder(resp.Body).Decode(&d))
	for k, want := range map[string]string{
		"issuer": h.srv.URL, "authorization_endpoint": h.srv.URL + "/oidc/authorize", "token_endpoint": h.srv.URL + "/oidc/token",
		"userinfo_endpoint": h.srv.URL + "/oidc/userinfo", "jwks_uri": h.srv.URL + "/oidc/keys", "revocation_endpoint": h.srv.URL + "/oidc/revoke",
		"introspection_endpoint": h.srv.URL + "/oidc/introspect", "end_session_endpoint": h.srv.URL + "/oidc/end_session",
		"response_types_supported": "[code]", "grant_types_supported": "[authorization_code refresh_token]",
		"code_challenge_methods_supported": "[S256]", "scopes_supported": "[openid profile email groups offline_access]",
	} {
		if got := fmt.Sprint(d[k]); got != want {
			t.Errorf("%s = %s, want %s", k, got, want)
		}
	}
	if d["device_authorization_endpoint"] != nil {
		t.Errorf("a device flow is advertised: %v", d["device_authorization_endpoint"])
	}
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Error("discovery is not readable from a single-page app's origin")
	}
	for _, path := range []string{"/oidc/authorize/callback?id=x", "/device_authorization"} {
		resp, err := http.Get(h.srv.URL + path)
		must(t, err)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusFound {
			t.Errorf("%s answers %d", path, resp.StatusCode)
		}
	}
}

func TestBasicIDTokenAndState(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	b := newBrowser(t)
	verifier := oauth2.GenerateVerifier()
	done := b.signIn(h.srv.URL, r.authorize(b, "xyz-state", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n")), "alice")
	if done.callback.Get("state") != "xyz-state" {
		t.Fatalf("state not echoed: %v", done.callback)
	}
	if iss := done.callback.Get("iss"); iss != "" && iss != h.srv.URL {
		t.Errorf("iss in the authorization response is %q, want the issuer", iss)
	}
	tok, id := r.exchange(done.callback.Get("code"), verifier)
	raw := tok.Extra("id_token").(string)
	var c map[string]any
	must(t, id.Claims(&c))
	for _, claim := range []string{"iss", "aud", "exp", "iat", "sub"} {
		if c[claim] == nil {
			t.Errorf("ID token lacks %s: %v", claim, c)
		}
	}
	if c["iss"] != h.srv.URL || id.Audience[0] != r.conf.ClientID {
		t.Errorf("iss %v aud %v", c["iss"], id.Audience)
	}
	if kid := idTokenKeyID(t, raw); !slices.Contains(jwksKeyIDs(t, h, "RS256"), kid) {
		t.Errorf("kid %s is not in the JWKS", kid)
	}
}

// UserInfo answers a Bearer header on GET and POST, and the token in a
// POST body (RFC 6750 2.2).
func TestBasicUserInfoForms(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	tok, _ := r.exchange(r.login(newBrowser(t), "alice"))
	endpoint := h.srv.URL + "/oidc/userinfo"
	header := func(m string) *http.Request {
		req, _ := http.NewRequest(m, endpoint, nil)
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		return req
	}
	body, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(url.Values{"access_token": {tok.AccessToken}}.Encode()))
	body.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for name, req := range map[string]*http.Request{"GET with header": header(http.MethodGet), "POST with header": header(http.MethodPost), "POST body": body} {
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		var info map[string]any
		json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || info["sub"] != h.userID("alice") {
			t.Errorf("%s: %d %v", name, resp.StatusCode, info)
		}
	}
}

// Every standard scope, in any order, and the optional request parameters
// the plan sends, are accepted; the claims follow the scopes.
func TestBasicScopesAndParameters(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	b := newBrowser(t)
	r.exchange(r.login(b, "alice"))
	hint := "" // the previous case's ID token
	for _, tc := range []struct {
		scopes []string
		params map[string]string
		want   []string // claims that must be there
		absent []string
	}{
		{[]string{"openid"}, nil, []string{"sub"}, []string{"email", "name", "groups"}},
		{[]string{"profile", "openid"}, nil, []string{"name", "preferred_username"}, []string{"email"}},
		{[]string{"email", "openid"}, nil, []string{"email", "email_verified"}, []string{"name"}},
		{[]string{"openid", "address"}, nil, []string{"sub"}, nil},
		{[]string{"openid", "phone"}, nil, []string{"sub"}, nil},
		{[]string{"phone", "address", "email", "profile", "openid", "groups"}, nil, []string{"email", "name", "groups"}, nil},
		{[]string{"openid"}, map[string]string{"display": "page", "ui_locales": "de fr", "claims_locales": "de", "login_hint": "alice", "acr_values": "https://refeds.org/profile/mfa", "foo": "bar"}, []string{"sub"}, nil},
		{[]string{"openid"}, map[string]string{"display": "popup", "claims": `{"id_token":{"email":{"essential":true}}}`}, []string{"sub"}, nil},
		{[]string{"openid"}, map[string]string{"id_token_hint": "HINT", "prompt": "none"}, []string{"sub"}, nil},
	} {
		conf := r.conf
		conf.Scopes = tc.scopes
		opts := []oauth2.AuthCodeOption{}
		for k, v := range tc.params {
			if v == "HINT" {
				v = hint
			}
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
		p := b.get(conf.AuthCodeURL("s", opts...))
		if p.callback.Get("code") == "" {
			t.Errorf("scopes %v params %v: %d %v\n%s", tc.scopes, tc.params, p.status, p.callback, p.body)
			continue
		}
		tok, err := conf.Exchange(context.Background(), p.callback.Get("code"))
		must(t, err)
		raw := tok.Extra("id_token").(string)
		hint = raw
		id, err := r.verifier.Verify(context.Background(), raw)
		must(t, err)
		var c map[string]any
		must(t, id.Claims(&c))
		for _, k := range tc.want {
			if c[k] == nil {
				t.Errorf("scopes %v: no %s in %v", tc.scopes, k, c)
			}
		}
		for _, k := range tc.absent {
			if c[k] != nil {
				t.Errorf("scopes %v: %s released in %v", tc.scopes, k, c)
			}
		}
	}
}

// A missing response_type is an error; request objects are refused as
// unsupported, not half-applied.
func TestBasicErrors(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	b := newBrowser(t)
	u, _ := url.Parse(r.conf.AuthCodeURL("s"))
	q := u.Query()
	q.Del("response_type")
	u.RawQuery = q.Encode()
	// An error: at the redirect URI, or (the library's choice for an http
	// redirect URI it cannot check without the response type) on a page.
	if p := b.get(u.String()); p.callback.Get("error") != "invalid_request" && (p.status != http.StatusBadRequest || p.callback != nil) {
		t.Errorf("missing response_type: %d %v", p.status, p.callback)
	}
	for _, param := range []string{"request", "request_uri"} {
		value := "eyJhbGciOiJub25lIn0.eyJzdGF0ZSI6ImZvcmdlZCJ9."
		if param == "request_uri" {
			value = "https://rp.example/request.jwt"
		}
		p := r.authorize(b, "s", oauth2.SetAuthURLParam(param, value))
		want := param + "_not_supported"
		if p.callback.Get("error") != want || p.callback.Get("state") != "s" {
			t.Errorf("%s: %d %v\n%s", param, p.status, p.callback, p.body)
		}
		if p.callback.Get("state") == "forged" {
			t.Errorf("%s: an unsigned request object was applied", param)
		}
	}
}

// max_age=10000 after a recent sign-in needs no new one, and the ID token
// carries auth_time.
func TestBasicMaxAge10000(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	b := newBrowser(t)
	_, first := r.exchange(r.login(b, "alice"))
	p := r.authorize(b, "s", oauth2.SetAuthURLParam("max_age", "10000"))
	if p.callback.Get("code") == "" {
		t.Fatalf("max_age=10000 asked to sign in again: %d\n%s", p.status, p.body)
	}
	_, again := r.exchange(p.callback.Get("code"), "")
	var c1, c2 claims
	must(t, first.Claims(&c1))
	must(t, again.Claims(&c2))
	if c2.AuthTime == 0 || c2.AuthTime != c1.AuthTime {
		t.Errorf("auth_time %d, want the first sign-in's %d", c2.AuthTime, c1.AuthTime)
	}
}

// A code reused 30 seconds later fails the same way.
func TestBasicCodeReuseLater(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	code, verifier := r.login(newBrowser(t), "alice")
	r.exchange(code, verifier)
	h.clock.Advance(30 * time.Second)
	if _, err := r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier)); oauthError(err) != "invalid_grant" {
		t.Fatalf("code reused after 30 s: %v", err)
	}
}
