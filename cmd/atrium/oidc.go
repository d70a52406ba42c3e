package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/oidc"
	"github.com/atrium-dir/atrium/signin"
)

// mountOIDC adds the OpenID Connect provider to the web server. The
// library logs its refusals through slog's default logger: Atrium's.
func mountOIDC(mux *http.ServeMux, d *directory.Directory, e *signin.Engine, opts oidc.Options) error {
	if opts.Logger != nil {
		slog.SetDefault(opts.Logger)
	}
	p, err := oidc.New(context.Background(), d, e, opts)
	if err != nil {
		return err
	}
	p.Mount(mux)
	return nil
}

// appAddOIDC registers an OpenID Connect client; its secret is shown once.
func appAddOIDC(e *env) error {
	c := directory.OIDCClient{RedirectURIs: e.inv.multi["redirect-uri"], PostLogoutURIs: e.inv.multi["post-logout-uri"], SigningAlg: flagValue(e, "signing-alg")}
	_, c.Public = e.flag("public")
	for flag, into := range map[string]*time.Duration{"access-ttl": &c.AccessTTL, "id-token-ttl": &c.IDTokenTTL, "refresh-ttl": &c.RefreshTTL} {
		if v, ok := e.flag(flag); ok {
			d, err := time.ParseDuration(v)
			if err != nil {
				return usagef("app add --%s %q: give a duration such as 30m or 720h", flag, v)
			}
			*into = d
		}
	}
	app := directory.App{Name: e.arg(0), OIDC: &c, Groups: splitList(e), LaunchURL: flagValue(e, "launch-url")}
	_, app.RequireMFA = e.flag("require-mfa")
	for _, saml := range []string{"metadata", "entity-id", "acs", "nameid", "encrypt", "verify-requests", "idp-initiated"} {
		if _, ok := e.flag(saml); ok {
			return usagef("app add --oidc: --%s is for SAML apps", saml)
		}
	}
	preset, err := applyPreset(e, &app)
	if err != nil {
		return err
	}
	app, secret, err := e.dir.CreateOIDCApp(e.ctx, app)
	if err != nil {
		return err
	}
	e.audit("app add --oidc", app.Name)
	if e.inv.json {
		return printJSON(e.out, struct {
			directory.App
			ClientSecret string `json:"clientSecret,omitempty"`
		}{app, secret})
	}
	fmt.Fprintf(e.out, "Registered OIDC app %s\n", app.Name)
	fields := [][2]string{{"Issuer", issuer(e)}, {"Client ID", app.OIDC.ClientID}}
	if secret != "" {
		fields = append(fields, [2]string{"Client secret", secret + "   (shown once: copy it now)"})
	}
	if err := printFields(e.out, fields); err != nil || preset == nil {
		return err
	}
	fmt.Fprintf(e.out, "\n%s\n", preset.Guide(issuer(e), app, secret))
	return nil
}

// applyPreset fills app's redirect URI (and launch URL) from --preset and
// --app-url, and returns the preset, or nil without --preset.
func applyPreset(e *env, app *directory.App) (*oidc.Preset, error) {
	name, ok := e.flag("preset")
	if !ok {
		return nil, nil
	}
	p, err := oidc.FindPreset(name)
	if err != nil {
		return nil, err
	}
	address, ok := e.flag("app-url")
	if !ok {
		return nil, usagef("app add --oidc --preset %s: give --app-url (%s)", name, p.AddressHint)
	}
	if err := p.Apply(app, address); err != nil {
		return nil, err
	}
	return &p, nil
}

// appShowOIDC prints what an admin gives the client: the issuer, the
// client ID and the endpoints, never the secret.
func appShowOIDC(e *env, a directory.App) error {
	kind := "confidential (client_secret_basic or client_secret_post)"
	if a.OIDC.Public {
		kind = "public (PKCE with S256)"
	}
	access, id, refresh := a.OIDC.Lifetimes()
	fields := [][2]string{
		{"Name", a.Name}, {"Protocol", "OpenID Connect"}, {"Issuer", issuer(e)}, {"Client ID", a.OIDC.ClientID}, {"Client", kind},
		{"Redirect URIs", strings.Join(a.OIDC.RedirectURIs, " ")}, {"Post-logout URIs", strings.Join(a.OIDC.PostLogoutURIs, " ")},
		{"Scopes", "openid profile email groups offline_access"}, {"ID token signing", cmp.Or(a.OIDC.SigningAlg, "RS256")},
		{"Groups", strings.Join(a.Groups, ",")}, {"Require MFA", yesNo(a.RequireMFA)},
		{"Token lifetimes", fmt.Sprintf("access %s, ID %s, refresh %s", access, id, refresh)},
	}
	fields = append(fields, oidc.Endpoints(issuer(e))...)
	if err := printFields(e.out, fields); err != nil || a.Preset == "" {
		return err
	}
	p, err := oidc.FindPreset(a.Preset)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.out, "\n%s\n", p.Guide(issuer(e), a, ""))
	return nil
}

func appRotateSecret(e *env) error {
	secret, err := e.dir.RotateClientSecret(e.ctx, e.arg(0))
	if err != nil {
		return err
	}
	e.audit("app rotate-secret", e.arg(0))
	fmt.Fprintf(e.out, "New client secret of %s (shown once; the old one no longer works):\n%s\n", e.arg(0), secret)
	return nil
}

func oidcRotateKey(e *env) error {
	_, doSwitch := e.flag("switch")
	_, finish := e.flag("finish")
	if err := oidc.EnsureKeys(e.ctx, e.dir); err != nil {
		return err
	}
	var err error
	var msg string
	switch {
	case doSwitch && finish:
		return usagef("oidc rotate-key: give --switch or --finish, not both")
	case doSwitch:
		err, msg = oidc.SwitchKey(e.ctx, e.dir), "Tokens are now signed with the new key; the old one stays published. Once its tokens have expired, run 'atrium oidc rotate-key --finish'."
	case finish:
		err, msg = oidc.FinishRotation(e.ctx, e.dir), "The previous key is no longer published."
	default:
		err, msg = oidc.StageKey(e.ctx, e.dir), "A new signing key is published beside the current one. Once clients have fetched the keys again, run 'atrium oidc rotate-key --switch'."
	}
	if err != nil {
		return err
	}
	e.audit("oidc rotate-key", "")
	fmt.Fprintln(e.out, msg)
	return nil
}

// issuer is the provider's issuer for the configured external URL.
func issuer(e *env) string {
	ext, err := url.Parse(e.cfg.ExternalURL)
	if err != nil {
		return e.cfg.ExternalURL
	}
	return oidc.Issuer(signin.New(e.dir, signin.Options{ExternalURL: ext}))
}

func splitList(e *env) []string {
	var out []string
	for _, name := range strings.Split(flagValue(e, "groups"), ",") {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}

func flagValue(e *env, name string) string {
	v, _ := e.flag(name)
	return v
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
