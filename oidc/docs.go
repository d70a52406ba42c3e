package oidc

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
	"text/template"

	"github.com/atrium-dir/atrium/directory"
)

//go:embed guide.md.tmpl
var guideText string

var docTemplate = template.Must(template.New("guide").Funcs(template.FuncMap{"join": strings.Join}).Parse(guideText))

// Values the guides in docs/clients show in place of each install's own.
const (
	docIssuer   = "https://sso.example.com"
	docClientID = "<client ID>"
	docSecret   = "<client secret>"
)

// claimDocs says where each claim a preset reads comes from; every claim
// in it is one the provider releases (TestPresetDocs checks).
var claimDocs = map[string][2]string{
	"sub":                {"openid", "the user's entryUUID: stable across renames"},
	"preferred_username": {"profile", "the uid, e.g. `alice`"},
	"name":               {"profile", "the display name (cn)"},
	"email":              {"email", "the mail address, set by admins only (`email_verified` is true)"},
	"groups":             {"groups", "the names of every group the user is in, nested groups included"},
	"amr":                {"openid", "how the user signed in: `pwd`, plus the second factor's method (`otp`, `hwk`, `swk`) and `mfa` after one, as in SAML"},
}

// Presets returns the presets in the order the docs list them.
func Presets() []Preset { return presets }

// Markdown renders the preset's guide, docs/clients/oidc-<name>.md: the
// command that adds the app, its redirect URI, scopes and claims, and the
// settings to enter on the app's side, all from the preset itself.
func (p Preset) Markdown() ([]byte, error) {
	redirect, err := p.RedirectURI(p.Example)
	if err != nil {
		return nil, err
	}
	app := directory.App{Name: p.Name, OIDC: &directory.OIDCClient{ClientID: docClientID, RedirectURIs: []string{redirect}}}
	type claim struct{ Name, Scope, Value string }
	var claims []claim
	for _, c := range p.Claims {
		d, ok := claimDocs[c]
		if !ok {
			return nil, fmt.Errorf("preset %s: no words for claim %q", p.Name, c)
		}
		claims = append(claims, claim{c, d[0], d[1]})
	}
	var b bytes.Buffer
	err = docTemplate.Execute(&b, struct {
		Preset
		Issuer, Redirect, Settings string
		ClaimRows                  []claim
	}{p, docIssuer, redirect, p.Guide(docIssuer, app, docSecret), claims})
	if err != nil {
		return nil, fmt.Errorf("guide %s: %w", p.Name, err)
	}
	return b.Bytes(), nil
}

// notes explain, per preset, what the settings do on the app's side.
var notes = map[string]string{
	"cloudflare": `Cloudflare reads only the ID token, which carries ` + "`groups`" + ` and ` + "`amr`" + `
once the scopes ask for them. With both listed under "OIDC Claims", an
Access policy can require a group (Include or Require > "OIDC Claims",
claim name ` + "`groups`" + `, value the group's name) or a second factor
(claim ` + "`amr`" + `, value ` + "`mfa`" + `). Leave the app's Launch URL empty in
Atrium: people reach the apps Access guards, not Access itself.`,
	"grafana": `Grafana maps roles from the ` + "`groups`" + ` claim with the JMESPath in
` + "`role_attribute_path`" + `: members of ` + "`grafana-admins`" + ` become Admin, of
` + "`grafana-editors`" + ` Editor, everyone else Viewer. Create those groups in
Atrium (or change the names), and restrict who may sign in at all with
` + "`--groups`" + ` on ` + "`atrium app add`" + `. Add ` + "`role_attribute_strict = true`" + ` to refuse
users the path gives no role.`,
	"gitea": `The same fields in the web UI: Site Administration > Identity & Access >
Authentication Sources > Add: Authentication Type "OAuth2", Authentication
Name "Atrium", OAuth2 Provider "OpenID Connect", Client ID (Key), Client
Secret, OpenID Connect Auto Discovery URL, Additional Scopes, "Claim name
providing group names for this source" ` + "`groups`" + `, and "Group Claim value for
administrator users" ` + "`gitea-admins`" + `. The name must stay "Atrium": it is
part of the redirect URI.`,
	"proxmox": `In the web UI (Datacenter > Permissions > Realms > Add > OpenID Connect
Server): Issuer URL, Realm ` + "`atrium`" + `, Client ID, Client Key, Username
Claim "username" (Atrium's ` + "`preferred_username`" + `), Scopes, Autocreate
Users, and on Proxmox VE 8 Groups Claim ` + "`groups`" + ` with Autocreate Groups.
Proxmox sends no path, so the redirect URI is the web UI's origin, as the
browser shows it (port included). Grant the autocreated groups their roles
under Datacenter > Permissions.`,
	"portainer": `Portainer's "Redirect URL" is its own address, which the preset
registers. Turn on "Automatic user provisioning" to create users on first
sign-in; team membership from ` + "`groups`" + ` is "Automatic team membership" with
claim name ` + "`groups`" + ` (Business Edition).`,
	"nextcloud": `The same provider appears under Administration settings > OpenID
Connect, where the fields carry the same names (Identifier "Atrium", Client
ID, Client secret, Discovery endpoint, Scope, and the attribute mappings).
With ` + "`--group-provisioning=1`" + `, Nextcloud creates and fills groups from
the ` + "`groups`" + ` claim at each sign-in.`,
}
