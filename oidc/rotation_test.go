package oidc_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/oidc"
)

// jwksKeyIDs lists the key IDs /oidc/keys publishes.
func jwksKeyIDs(t *testing.T, h *harness) []string {
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
		if k.Alg != "RS256" || k.Use != "sig" {
			t.Errorf("published key %+v", k)
		}
		ids = append(ids, k.Kid)
	}
	return ids
}

func idTokenKeyID(t *testing.T, raw string) string {
	t.Helper()
	var header struct{ Kid string }
	b, err := jsonPart(raw, 0)
	must(t, err)
	must(t, json.Unmarshal(b, &header))
	return header.Kid
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
	if ids := jwksKeyIDs(t, h); len(ids) != 1 || ids[0] != oldKid {
		t.Fatalf("before rotation: keys %v, token signed by %s", ids, oldKid)
	}

	must(t, oidc.StageKey(ctx, h.dir))
	if ids := jwksKeyIDs(t, h); len(ids) != 2 {
		t.Fatalf("staged: keys %v", ids)
	}
	tok, _ = r.exchange(r.login(newBrowser(t), "bob"))
	if kid := idTokenKeyID(t, tok.Extra("id_token").(string)); kid != oldKid {
		t.Fatalf("a staged key signed a token (%s)", kid)
	}

	must(t, oidc.SwitchKey(ctx, h.dir))
	tok, _ = r.exchange(r.login(newBrowser(t), "bob"))
	newKid := idTokenKeyID(t, tok.Extra("id_token").(string))
	if ids := jwksKeyIDs(t, h); newKid == oldKid || len(ids) != 2 {
		t.Fatalf("switched: new token by %s, keys %v", newKid, ids)
	}
	// A relying party that fetches the keys now still accepts the old token.
	p, err := gooidc.NewProvider(ctx, h.srv.URL)
	must(t, err)
	if _, err := p.Verifier(&gooidc.Config{ClientID: r.conf.ClientID}).Verify(ctx, oldRaw); err != nil {
		t.Fatalf("a token of the previous key after the switch: %v", err)
	}

	must(t, oidc.FinishRotation(ctx, h.dir))
	if ids := jwksKeyIDs(t, h); len(ids) != 1 || ids[0] != newKid {
		t.Fatalf("finished: keys %v", ids)
	}
	p, err = gooidc.NewProvider(ctx, h.srv.URL)
	must(t, err)
	if _, err := p.Verifier(&gooidc.Config{ClientID: r.conf.ClientID}).Verify(ctx, oldRaw); err == nil || !strings.Contains(err.Error(), "signature") {
		t.Fatalf("a token of the retired key verified: %v", err)
	}
}
