package oidc_test

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/totp"
)

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// The self-service page lists the OIDC apps the user may use, and its
// "sign out everywhere else" ends the apps' refresh tokens too.
func TestAccountPageListsAppsAndSignsOutEverywhere(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("grafana", directory.OIDCClient{}, []string{"staff"}, false)
	h.addClient("payroll", directory.OIDCClient{}, []string{"contractors"}, false)
	b := newBrowser(t)
	tok, _ := r.exchange(r.login(b, "alice"))
	account := b.get(h.srv.URL + "/")
	if !strings.Contains(account.body, "grafana") || strings.Contains(account.body, "payroll") {
		t.Fatalf("alice's app list:\n%s", account.body)
	}
	// Her sign-in to grafana is among her recent sign-ins, named as the app.
	if !regexp.MustCompile(`</strong> · grafana<br>`).MatchString(account.body) {
		t.Errorf("recent sign-ins lack grafana:\n%s", account.body)
	}
	m := csrfRE.FindStringSubmatch(account.body)
	if m == nil {
		t.Fatalf("no CSRF token on the account page:\n%s", account.body)
	}
	b.post(h.srv.URL+"/account/sessions/end-others", url.Values{"csrf": {m[1]}})
	if _, err := r.conf.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); oauthError(err) != "invalid_grant" {
		t.Fatalf("refresh after signing out everywhere: %v", err)
	}
}

// alice, who has an authenticator, signs in to an app that requires MFA
// with her password and code; the ID token says so in amr and acr, as a
// SAML assertion would, and a later passive request is answered silently.
func TestRequireMFASignIn(t *testing.T) {
	h := newHarness(t)
	r := h.addClient("grafana", directory.OIDCClient{}, nil, true)
	ctx := context.Background()
	id := h.userID("alice")
	secret, err := h.dir.BeginTOTP(ctx, id)
	must(t, err)
	_, err = h.dir.ConfirmTOTP(ctx, id, "Phone", totpCode(t, h, secret), "192.0.2.1")
	must(t, err)
	h.clock.Advance(totp.Period)

	b := newBrowser(t)
	verifier := oauth2.GenerateVerifier()
	mfa := b.signIn(h.srv.URL, r.authorize(b, "s", oauth2.S256ChallengeOption(verifier)), "alice")
	if !strings.Contains(mfa.body, `name="kind" value="totp"`) || mfa.callback != nil {
		t.Fatalf("expected the second-factor page, got %d %v:\n%s", mfa.status, mfa.callback, mfa.body)
	}
	done := b.submit(h.srv.URL, mfa, url.Values{"code": {totpCode(t, h, secret)}})
	_, idt := r.exchange(done.callback.Get("code"), verifier)
	var c claims
	must(t, idt.Claims(&c))
	if !slices.Equal(c.AMR, []string{"pwd", "otp", "mfa"}) || c.ACR != "https://refeds.org/profile/mfa" {
		t.Fatalf("amr %v acr %s", c.AMR, c.ACR)
	}
	if p := r.authorize(b, "s", oauth2.SetAuthURLParam("prompt", "none")); p.callback.Get("code") == "" {
		t.Fatalf("an MFA session was refused silently by an MFA app: %v", p.callback)
	}
}

// A session that proved only the password is stepped up for an app that
// requires MFA; prompt=none gets interaction_required instead.
func TestRequireMFAStepUpFromPasswordSession(t *testing.T) {
	h := newHarness(t)
	plain := h.addClient("wiki", directory.OIDCClient{}, nil, false)
	r := h.addClient("grafana", directory.OIDCClient{}, nil, true)
	b := newBrowser(t)
	plain.exchange(plain.login(b, "alice")) // password only: alice has no factor yet
	ctx := context.Background()
	id := h.userID("alice")
	secret, err := h.dir.BeginTOTP(ctx, id)
	must(t, err)
	_, err = h.dir.ConfirmTOTP(ctx, id, "Phone", totpCode(t, h, secret), "192.0.2.1")
	must(t, err)
	h.clock.Advance(totp.Period)

	if p := r.authorize(b, "s", oauth2.SetAuthURLParam("prompt", "none")); p.callback.Get("error") != "interaction_required" {
		t.Fatalf("passive request to an MFA app with a password session: %v", p.callback)
	}
	verifier := oauth2.GenerateVerifier()
	step := r.authorize(b, "s", oauth2.S256ChallengeOption(verifier), gooidc.Nonce("n"))
	if strings.Contains(step.body, `name="password"`) || !strings.Contains(step.body, `name="kind" value="totp"`) {
		t.Fatalf("expected the second-factor page, got %d:\n%s", step.status, step.body)
	}
	done := b.submit(h.srv.URL, step, url.Values{"code": {totpCode(t, h, secret)}})
	if done.callback.Get("code") == "" {
		t.Fatalf("after the step-up: %d %v\n%s", done.status, done.callback, done.body)
	}
	_, idt := r.exchange(done.callback.Get("code"), verifier)
	var c claims
	must(t, idt.Claims(&c))
	if !slices.Contains(c.AMR, "mfa") || c.ACR != "https://refeds.org/profile/mfa" {
		t.Fatalf("amr %v acr %s", c.AMR, c.ACR)
	}
}

func totpCode(t *testing.T, h *harness, secret []byte) string {
	t.Helper()
	code, err := totp.CodeAt(secret, totp.Step(h.clock.Now()))
	must(t, err)
	return code
}
