package oidc

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"text/template"

	"github.com/atrium-dir/atrium/directory"
)

// Preset is a relying party Atrium knows: the redirect URI it uses,
// built from its address, and the settings to give it.
type Preset struct {
	Name, Title string
	// Path is appended to the app's address to make its redirect URI.
	Path string
	// AddressHint says what address the admin gives (--app-url), and
	// Example is one such address, for the docs.
	AddressHint, Example string
	// Scopes are the scopes the app must ask for; Claims, the claims it
	// reads from the ID token or UserInfo.
	Scopes, Claims []string
	// Notes is Markdown for the app's guide in docs/clients: what the
	// settings do on the app's side.
	Notes string
	guide *template.Template
}

// presets by name; the guides use the names each app's own settings use.
var presets = []Preset{
	{Name: "cloudflare", Title: "Cloudflare Access (generic OIDC)", Path: "/cdn-cgi/access/callback", AddressHint: "https://<team>.cloudflareaccess.com", Example: "https://team.cloudflareaccess.com",
		Scopes: []string{"openid", "email", "profile", "groups"}, Claims: []string{"sub", "email", "groups", "amr"}, Notes: notes["cloudflare"], guide: guide(`In Cloudflare Zero Trust: Settings > Authentication > Login methods > Add new > OpenID Connect.
  Name:              Atrium
  App ID:            {{.ClientID}}
  Client secret:     {{.Secret}}
  Auth URL:          {{.Issuer}}/oidc/authorize
  Token URL:         {{.Issuer}}/oidc/token
  Certificate URL:   {{.Issuer}}/oidc/keys
  Proof Key for Code Exchange (PKCE): on
  Scopes:            {{.Scopes}}   (API: config.scopes; "groups" puts the groups in the ID token)
  OIDC Claims:       groups, amr   (then "OIDC Claims" rules in Access policies: groups = <group>, amr = mfa)
  Email claim:       email
The ID token carries email, groups and amr: Cloudflare reads no UserInfo.`)},
	{Name: "grafana", Title: "Grafana", Path: "/login/generic_oauth", AddressHint: "Grafana's root_url, e.g. https://grafana.example", Example: "https://grafana.example.com",
		Scopes: []string{"openid", "profile", "email", "groups", "offline_access"}, Claims: []string{"preferred_username", "name", "email", "groups"}, Notes: notes["grafana"], guide: guide(`In grafana.ini (or GF_AUTH_GENERIC_OAUTH_<KEY> variables):
[auth.generic_oauth]
enabled = true
name = Atrium
client_id = {{.ClientID}}
client_secret = {{.Secret}}
scopes = {{.Scopes}}
auth_url = {{.Issuer}}/oidc/authorize
token_url = {{.Issuer}}/oidc/token
api_url = {{.Issuer}}/oidc/userinfo
use_pkce = true
use_refresh_token = true
login_attribute_path = preferred_username
name_attribute_path = name
email_attribute_path = email
groups_attribute_path = groups
role_attribute_path = contains(groups[*], 'grafana-admins') && 'Admin' || contains(groups[*], 'grafana-editors') && 'Editor' || 'Viewer'
signout_redirect_url = {{.Issuer}}/oidc/end_session`)},
	{Name: "gitea", Title: "Gitea or Forgejo", Path: "/user/oauth2/Atrium/callback", AddressHint: "the Gitea/Forgejo ROOT_URL, e.g. https://git.example", Example: "https://git.example.com",
		Scopes: []string{"openid", "profile", "email", "groups"}, Claims: []string{"sub", "preferred_username", "name", "email", "groups"}, Notes: notes["gitea"], guide: guide(`On the Gitea or Forgejo host (the authentication source must be named Atrium, as in the redirect URI):
gitea admin auth add-oauth --provider=openidConnect --name=Atrium \
  --key={{.ClientID}} --secret={{.Secret}} \
  --auto-discover-url={{.Issuer}}/.well-known/openid-configuration \
  --scopes="{{.Scopes}}" --group-claim-name=groups --admin-group=gitea-admins
(Forgejo: the same with "forgejo admin auth add-oauth".)`)},
	{Name: "proxmox", Title: "Proxmox VE", Path: "", AddressHint: "the web UI's origin, e.g. https://pve.example:8006", Example: "https://pve.example.com:8006",
		Scopes: []string{"openid", "email", "profile", "groups"}, Claims: []string{"preferred_username", "name", "email", "groups"}, Notes: notes["proxmox"], guide: guide(`On a Proxmox VE node (Datacenter > Permissions > Realms > Add > OpenID Connect Server has the same fields):
pveum realm add atrium --type openid --issuer-url {{.Issuer}} \
  --client-id {{.ClientID}} --client-key {{.Secret}} \
  --username-claim username --scopes "{{.Scopes}}" --autocreate 1 \
  --groups-claim groups --groups-autocreate 1
Users appear as <uid>@atrium. (groups-claim needs Proxmox VE 8.)`)},
	{Name: "portainer", Title: "Portainer", Path: "", AddressHint: "Portainer's URL, e.g. https://portainer.example", Example: "https://portainer.example.com",
		Scopes: []string{"openid", "profile", "email", "groups"}, Claims: []string{"preferred_username", "groups"}, Notes: notes["portainer"], guide: guide(`In Portainer: Settings > Authentication > OAuth > Custom.
  Client ID:          {{.ClientID}}
  Client secret:      {{.Secret}}
  Authorization URL:  {{.Issuer}}/oidc/authorize
  Access token URL:   {{.Issuer}}/oidc/token
  Resource URL:       {{.Issuer}}/oidc/userinfo
  Redirect URL:       {{.RedirectURI}}
  Logout URL:         {{.Issuer}}/oidc/end_session
  User identifier:    preferred_username
  Scopes:             {{.Scopes}}
  Auth Style:         In Params`)},
	{Name: "nextcloud", Title: "Nextcloud (user_oidc)", Path: "/apps/user_oidc/code", AddressHint: "Nextcloud's URL, e.g. https://cloud.example", Example: "https://cloud.example.com",
		Scopes: []string{"openid", "email", "profile", "groups"}, Claims: []string{"preferred_username", "name", "email", "groups"}, Notes: notes["nextcloud"], guide: guide(`On the Nextcloud host, with the user_oidc app enabled:
occ user_oidc:provider Atrium --clientid={{.ClientID}} --clientsecret={{.Secret}} \
  --discoveryuri={{.Issuer}}/.well-known/openid-configuration \
  --scope="{{.Scopes}}" --mapping-uid=preferred_username \
  --mapping-display-name=name --mapping-email=email --mapping-groups=groups \
  --group-provisioning=1 --unique-uid=0`)},
}

func guide(text string) *template.Template { return template.Must(template.New("").Parse(text)) }

// PresetNames lists the presets, for usage messages.
func PresetNames() []string {
	var out []string
	for _, p := range presets {
		out = append(out, p.Name)
	}
	return out
}

// FindPreset returns the preset called name.
func FindPreset(name string) (Preset, error) {
	i := slices.IndexFunc(presets, func(p Preset) bool { return p.Name == name })
	if i < 0 {
		return Preset{}, fmt.Errorf("no OIDC preset %q; choose from %s: %w", name, strings.Join(PresetNames(), ", "), directory.ErrInvalid)
	}
	return presets[i], nil
}

// RedirectURI is the redirect URI the app at address uses.
func (p Preset) RedirectURI(address string) (string, error) {
	u, err := url.Parse(address)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("%s's address %q: give %s: %w", p.Title, address, p.AddressHint, directory.ErrInvalid)
	}
	return strings.TrimSuffix(u.String(), "/") + p.Path, nil
}

// Apply makes app the preset's: its redirect URI comes from the app's
// address unless one is given, and so does its launch URL, except for
// Cloudflare Access, which people reach through the apps it guards.
func (p Preset) Apply(app *directory.App, address string) error {
	if len(app.OIDC.RedirectURIs) == 0 {
		uri, err := p.RedirectURI(address)
		if err != nil {
			return err
		}
		app.OIDC.RedirectURIs = []string{uri}
	}
	if app.LaunchURL == "" && p.Name != "cloudflare" {
		app.LaunchURL = strings.TrimSuffix(address, "/") + "/"
	}
	app.Preset = p.Name
	return nil
}

// Guide is what to enter in the app. secret is the client secret, or ""
// once it has been shown.
func (p Preset) Guide(issuer string, app directory.App, secret string) string {
	if secret == "" {
		secret = "<the client secret shown when the app was added; 'atrium app rotate-secret " + app.Name + "' makes a new one>"
	}
	redirect := ""
	if app.OIDC != nil && len(app.OIDC.RedirectURIs) > 0 {
		redirect = app.OIDC.RedirectURIs[0]
	}
	var buf bytes.Buffer
	p.guide.Execute(&buf, struct{ Issuer, ClientID, Secret, RedirectURI, Scopes string }{issuer, app.OIDC.ClientID, secret, redirect, strings.Join(p.Scopes, " ")})
	return buf.String()
}
