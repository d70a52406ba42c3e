package oidc_test

import (
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/oidc"
)

// Each preset's redirect URI is the exact one the app sends, and its
// guide carries the client ID and the endpoints.
func TestPresets(t *testing.T) {
	for _, tc := range []struct{ preset, address, want string }{
		{"cloudflare", "https://team.cloudflareaccess.com", "https://team.cloudflareaccess.com/cdn-cgi/access/callback"},
		{"grafana", "https://grafana.example/", "https://grafana.example/login/generic_oauth"},
		{"gitea", "https://git.example", "https://git.example/user/oauth2/Atrium/callback"},
		{"proxmox", "https://pve.example:8006", "https://pve.example:8006"},
		{"portainer", "https://portainer.example", "https://portainer.example"},
		{"nextcloud", "https://cloud.example/", "https://cloud.example/apps/user_oidc/code"},
	} {
		p, err := oidc.FindPreset(tc.preset)
		must(t, err)
		got, err := p.RedirectURI(tc.address)
		if err != nil || got != tc.want {
			t.Errorf("%s: redirect URI %q (%v), want %q", tc.preset, got, err, tc.want)
		}
		app := directory.App{Name: tc.preset, OIDC: &directory.OIDCClient{ClientID: "the-client", RedirectURIs: []string{got}}}
		g := p.Guide("https://sso.example", app, "the-secret")
		for _, want := range []string{"the-client", "the-secret", "https://sso.example"} {
			if !strings.Contains(g, want) {
				t.Errorf("%s guide lacks %q:\n%s", tc.preset, want, g)
			}
		}
		if g := p.Guide("https://sso.example", app, ""); strings.Contains(g, "the-secret") || !strings.Contains(g, "rotate-secret") {
			t.Errorf("%s guide without the secret:\n%s", tc.preset, g)
		}
	}
	if _, err := oidc.FindPreset("jenkins"); err == nil {
		t.Error("an unknown preset was found")
	}
	p, _ := oidc.FindPreset("grafana")
	if _, err := p.RedirectURI("grafana.example"); err == nil {
		t.Error("an address without a scheme made a redirect URI")
	}
}
