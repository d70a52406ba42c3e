package oidc_test

import (
	"context"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/atrium-dir/atrium/directory"
)

// The tokens' write runs while the ID token is signed, and the response
// waits for it: of exchanges of one code racing each other, at most one
// gets tokens, and each other gets an OAuth error and no ID token, even
// when its write failed after its ID token was signed.
func TestRacingExchangesOfOneCode(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("app", directory.OIDCClient{}, nil, false)
	code, verifier := r.login(newBrowser(t), "alice")
	const n = 6
	var wg sync.WaitGroup
	toks, errs := make([]*oauth2.Token, n), make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], errs[i] = r.conf.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
		}()
	}
	wg.Wait()
	won := 0
	for i := range n {
		switch {
		case errs[i] == nil && toks[i].Extra("id_token") != nil:
			won++
		case errs[i] == nil || oauthError(errs[i]) == "":
			t.Errorf("exchange %d: no OAuth error and no ID token: %v %v", i, toks[i], errs[i])
		}
	}
	if won > 1 {
		t.Errorf("%d exchanges of one code got tokens", won)
	}
}
