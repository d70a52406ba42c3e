package main

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	clientIDRE     = regexp.MustCompile(`Client ID:\s+(\S+)`)
	clientSecretRE = regexp.MustCompile(`Client secret:\s+(\S+)`)
)

// An admin registers an OIDC client on a running server: the secret is
// shown once, app show gives the issuer, client ID and endpoints that
// discovery confirms, and rotate-secret replaces the secret at once.
func TestOIDCAppCommandsWithServer(t *testing.T) {
	c := &cli{data: filepath.Join(t.TempDir(), "data"), env: testEnv(), tr: &transcript{}, served: true}
	srv := startServer(t, c.data, c.env, nil)
	base := "http://" + srv.httpAddr
	c.ok(t, "group add", "staff")
	c.fails(t, exitUsage, "app", "add", "x", "--entity-id", "https://x.example/", "--acs", "https://x.example/acs", "--redirect-uri", "https://x.example/cb")
	c.fails(t, exitInvalid, "app", "add", "grafana", "--oidc")
	c.fails(t, exitNotFound, "app", "add", "grafana", "--oidc", "--redirect-uri", "https://grafana.example/login/generic_oauth", "--groups", "missing")
	out := c.ok(t, "app", "add", "grafana", "--oidc", "--redirect-uri", "https://grafana.example/login/generic_oauth", "--groups", "staff", "--require-mfa")
	id, secret := clientIDRE.FindStringSubmatch(out), clientSecretRE.FindStringSubmatch(out)
	if id == nil || secret == nil || !strings.Contains(out, "Issuer:") {
		t.Fatalf("app add --oidc:\n%s", out)
	}
	show := c.ok(t, "app", "show", "grafana")
	for _, want := range []string{`Issuer:\s+` + regexp.QuoteMeta(base) + "\n", `Client ID:\s+` + id[1], `Discovery:\s+` + regexp.QuoteMeta(base+"/.well-known/openid-configuration"),
		`Token:\s+` + regexp.QuoteMeta(base+"/oidc/token"), `Groups:\s+staff`, `Require MFA:\s+yes`} {
		if !regexp.MustCompile(want).MatchString(show) {
			t.Errorf("app show lacks %s:\n%s", want, show)
		}
	}
	if js := c.ok(t, "app", "show", "grafana", "--json"); strings.Contains(show+js+c.ok(t, "app", "list"), secret[1]) {
		t.Error("the client secret was shown again")
	}

	resp, err := http.Get(base + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc map[string]any
	json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if disc["issuer"] != base || disc["token_endpoint"] != base+"/oidc/token" || disc["jwks_uri"] != base+"/oidc/keys" {
		t.Errorf("discovery: %v", disc)
	}

	if got := revokeStatus(t, base, id[1], secret[1]); got != http.StatusOK {
		t.Fatalf("the shown secret authenticates: %d", got)
	}
	rotated := c.ok(t, "app", "rotate-secret", "grafana")
	if got := revokeStatus(t, base, id[1], secret[1]); got != http.StatusUnauthorized {
		t.Errorf("the old secret after rotate-secret: %d", got)
	}
	fields := strings.Fields(rotated)
	if got := revokeStatus(t, base, id[1], fields[len(fields)-1]); got != http.StatusOK {
		t.Errorf("the new secret: %d\n%s", got, rotated)
	}

	c.fails(t, exitUsage, "app", "add", "spa", "--oidc", "--public", "--redirect-uri", "http://127.0.0.1:8000/cb", "--access-ttl", "soon")
	c.fails(t, exitInvalid, "app", "add", "spa", "--oidc", "--public", "--redirect-uri", "http://127.0.0.1:8000/cb", "--refresh-ttl", "10000h")
	pub := c.ok(t, "app", "add", "spa", "--oidc", "--public", "--signing-alg", "ES256", "--redirect-uri", "http://127.0.0.1:8000/cb", "--access-ttl", "5m", "--refresh-ttl", "24h")
	spa := c.ok(t, "app", "show", "spa")
	if !regexp.MustCompile(`ID token signing:\s+ES256`).MatchString(spa) || !strings.Contains(spa, "access 5m0s, ID 1h0m0s, refresh 24h0m0s") {
		t.Errorf("app show spa:\n%s", spa)
	}
	if clientSecretRE.MatchString(pub) {
		t.Errorf("a public client was given a secret:\n%s", pub)
	}
	c.fails(t, exitInvalid, "app", "rotate-secret", "spa")

	c.fails(t, exitUsage, "app", "add", "gf", "--oidc", "--preset", "grafana")
	c.fails(t, exitInvalid, "app", "add", "gf", "--oidc", "--preset", "jenkins", "--app-url", "https://x.example")
	gf := c.ok(t, "app", "add", "gf", "--oidc", "--preset", "grafana", "--app-url", "https://grafana.example")
	gfSecret := clientSecretRE.FindStringSubmatch(gf)
	if gfSecret == nil || !strings.Contains(gf, "[auth.generic_oauth]") || !strings.Contains(gf, "client_secret = "+gfSecret[1]) {
		t.Errorf("app add --preset grafana:\n%s", gf)
	}
	gfShow := c.ok(t, "app", "show", "gf")
	if !strings.Contains(gfShow, "https://grafana.example/login/generic_oauth") || !strings.Contains(gfShow, "auth_url = "+base+"/oidc/authorize") || strings.Contains(gfShow, gfSecret[1]) {
		t.Errorf("app show of a grafana preset:\n%s", gfShow)
	}
	c.ok(t, "oidc", "rotate-key")
	c.ok(t, "oidc", "rotate-key", "--switch")
	c.ok(t, "oidc", "rotate-key", "--finish")
}

// revokeStatus authenticates as the client at the revocation endpoint.
func revokeStatus(t *testing.T, base, id, secret string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/oidc/revoke", strings.NewReader(url.Values{"token": {"unknown"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
