package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/oidc"
)

// jwksKeyIDs lists the key IDs /oidc/keys publishes for alg.
func jwksKeyIDs(t *testing.T, h *harness, alg string) []string {
	t.Helper()
	resp, err := http.Get(h.srv.URL + "/oidc/keys")
	must(t, err)
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid, Alg, Use string
		} `json:"keys"`
	}
	must(t, json.NewDecoder(resp.Body).Decode(&set))
	var ids []string
	for _, k := range set.Keys {
		if k.Alg != "RS256" && k.Alg != "ES256" || k.Use != "sig" {
			t.Errorf("published key %+v", k)
		}
		if k.Alg == alg {
			ids = append(ids, k.Kid)
		}
	}
	return ids
}

func idTokenKeyID(t *testing.T, raw string) string {
	t.Helper()
	kid, _ := idTokenHeader(t, raw)
	return kid
}

func idTokenHeader(t *testing.T, raw string) (kid, alg string) {
	t.Helper()
	var header struct{ Kid, Alg string }
	b, err := jsonPart(raw, 0)
	must(t, err)
	must(t, json.Unmarshal(b, &header))
	return header.Kid, header.Alg
}

// A client registered for ES256 gets ID tokens signed with the P-256 key,
// which discovery and the JWKS offer beside RS256; others keep RS256.
func TestES256Client(t *testing.T) {
	h := newHarness(t)
	es := h.addClient("es", directory.OIDCClient{SigningAlg: "ES256"}, nil, false)
	rs := h.addClient("rs", directory.OIDCClient{}, nil, false)
	b := newBrowser(t)
	tok, _ := es.exchange(es.login(b, "alice"))
	if kid, alg := idTokenHeader(t, tok.Extra("id_token").(string)); alg != "ES256" || !slices.Contains(jwksKeyIDs(t, h, "ES256"), kid) {
		t.Errorf("ES256 client: token alg %s kid %s, published %v", alg, kid, jwksKeyIDs(t, h, "ES256"))
	}
	refreshed := es.refresh(t, tok.RefreshToken)
	if _, alg := idTokenHeader(t, refreshed.Extra("id_token").(string)); alg != "ES256" {
		t.Errorf("refreshed ID token of the ES256 client: %s", alg)
	}
	tok, _ = rs.exchange(rs.login(newBrowser(t), "alice"))
	if _, alg := idTokenHeader(t, tok.Extra("id_token").(string)); alg != "RS256" {
		t.Errorf("RS256 client: token alg %s", alg)
	}
	var claims struct {
		Algs []string `json:"id_token_signing_alg_values_supported"`
	}
	must(t, es.provider.Claims(&claims))
	if !slices.Equal(claims.Algs, []string{"RS256", "ES256"}) {
		t.Errorf("discovery offers %v", claims.Algs)
	}
	if _, _, err := h.dir.CreateOIDCApp(context.Background(), directory.App{Name: "bad", OIDC: &directory.OIDCClient{SigningAlg: "HS256", RedirectURIs: []string{redirectURI}}}); err == nil {
		t.Error("an HS256 client was registered")
	}
}

// The signing key rotates with overlap, in the SAML certificate's steps:
// the next key is published before anything is signed with it; after the
// switch new tokens use it while tokens of the old key still verify; the
// finish stops publishing the old key.
func TestKeyRotation(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	ctx := context.Background()
	tok, _ := r.exchange(r.login(newBrowser(t), "bob"))
	oldRaw := tok.Extra("id_token").(string)
	oldKid := idTokenKeyID(t, oldRaw)
	if ids := jwksKeyIDs(t, h, "RS256"); len(ids) != 1 || ids[0] != oldKid {
		t.Fatalf("before rotation: keys %v, token signed by %s", ids, oldKid)
	}

	must(t, oidc.StageKey(ctx, h.dir))
	if ids := jwksKeyIDs(t, h, "RS256"); len(ids) != 2 {
		t.Fatalf("staged: keys %v", ids)
	}
	tok, _ = r.exchange(r.login(newBrowser(t), "bob"))
	if kid := idTokenKeyID(t, tok.Extra("id_token").(string)); kid != oldKid {
		t.Fatalf("a staged key signed a token (%s)", kid)
	}

	must(t, oidc.SwitchKey(ctx, h.dir))
	tok, _ = r.exchange(r.login(newBrowser(t), "bob"))
	newKid := idTokenKeyID(t, tok.Extra("id_token").(string))
	if ids := jwksKeyIDs(t, h, "RS256"); newKid == oldKid || len(ids) != 2 {
		t.Fatalf("switched: new token by %s, keys %v", newKid, ids)
	}
	// A relying party that fetches the keys now still accepts the old token.
	p, err := gooidc.NewProvider(ctx, h.srv.URL)
	must(t, err)
	if _, err := p.Verifier(&gooidc.Config{ClientID: r.conf.ClientID}).Verify(ctx, oldRaw); err != nil {
		t.Fatalf("a token of the previous key after the switch: %v", err)
	}

	must(t, oidc.FinishRotation(ctx, h.dir))
	if ids := jwksKeyIDs(t, h, "RS256"); len(ids) != 1 || ids[0] != newKid {
		t.Fatalf("finished: keys %v", ids)
	}
	p, err = gooidc.NewProvider(ctx, h.srv.URL)
	must(t, err)
	if _, err := p.Verifier(&gooidc.Config{ClientID: r.conf.ClientID}).Verify(ctx, oldRaw); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("a token of the retired key verified: %v", err)
	}
}
