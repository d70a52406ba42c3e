package console

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/oidc"
	"github.com/atrium-dir/atrium/signin"
)

// OIDC apps: registered through directory.CreateOIDCApp with an oidc
// preset's redirect URI, as `atrium app add --oidc` does; the client
// secret is shown once, after the add or a rotation.

type oidcNewView struct {
	Presets []oidc.Preset
	// The form as typed, after a refusal.
	Name, Preset, AppURL, RedirectURIs, Groups, LaunchURL string
	Public, RequireMFA                                    bool
}

type oidcAppView struct {
	App       directory.App
	Issuer    string
	Endpoints [][2]string
	// Guide is the preset's instructions; Secret is shown once.
	Guide, Secret string
}

func (c *Console) newOIDCApp(w http.ResponseWriter, r *http.Request) {
	if a, ok := c.admin(w, r); ok {
		c.showNewOIDC(w, a, http.StatusOK, oidcNewView{Preset: r.URL.Query().Get("preset")}, "")
	}
}

func (c *Console) showNewOIDC(w http.ResponseWriter, a signin.Account, status int, v oidcNewView, problem string) {
	for _, name := range oidc.PresetNames() {
		p, _ := oidc.FindPreset(name)
		v.Presets = append(v.Presets, p)
	}
	c.show(w, status, "app-oidc-new.html", "Add an OIDC app", view{Admin: a, Section: "apps", Error: problem, Data: v})
}

// createOIDCApp registers the OIDC app of the form and shows its secret
// once.
func (c *Console) createOIDCApp(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	f := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	v := oidcNewView{Name: f("name"), Preset: f("preset"), AppURL: f("app_url"), RedirectURIs: f("redirect_uris"),
		Groups: f("groups"), LaunchURL: f("launch_url"), Public: f("public") != "", RequireMFA: f("require_mfa") != ""}
	app := directory.App{Name: v.Name, LaunchURL: v.LaunchURL, RequireMFA: v.RequireMFA, Groups: splitComma(v.Groups),
		OIDC: &directory.OIDCClient{RedirectURIs: strings.Fields(v.RedirectURIs), Public: v.Public}}
	var err error
	if v.Preset != "" {
		var p oidc.Preset
		if p, err = oidc.FindPreset(v.Preset); err == nil {
			err = p.Apply(&app, v.AppURL)
		}
	}
	var secret string
	if err == nil {
		app, secret, err = c.dir.CreateOIDCApp(r.Context(), app)
	}
	if err != nil {
		c.refuse(w, err, func(status int, message string) { c.showNewOIDC(w, a, status, v, message) })
		return
	}
	c.audit(r, a, app.Name, "app add --oidc")
	c.showOIDCApp(w, r, a, app, secret, "The app is added. Give it the values below.")
}

func (c *Console) showOIDCApp(w http.ResponseWriter, r *http.Request, a signin.Account, app directory.App, secret, notice string) {
	c.showOIDCAppStatus(w, r, a, http.StatusOK, app, secret, notice, "")
}

func (c *Console) showOIDCAppStatus(w http.ResponseWriter, r *http.Request, a signin.Account, status int, app directory.App, secret, notice, problem string) {
	issuer := oidc.Issuer(c.signin)
	v := oidcAppView{App: app, Issuer: issuer, Endpoints: oidc.Endpoints(issuer), Secret: secret}
	if app.Preset != "" {
		if p, err := oidc.FindPreset(app.Preset); err == nil {
			v.Guide = p.Guide(issuer, app, secret)
		}
	}
	c.show(w, status, "app-oidc.html", app.Name, view{Admin: a, Section: "apps", Notice: notice, Error: problem, Data: v})
}

// editOIDCApp saves an OIDC app's settings form through
// directory.UpdateOIDCApp, the rules of the add.
func (c *Console) editOIDCApp(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	f := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	_, err := c.dir.UpdateOIDCApp(r.Context(), name, func(app *directory.App) error {
		app.OIDC.RedirectURIs, app.OIDC.PostLogoutURIs = strings.Fields(f("redirect_uris")), strings.Fields(f("post_logout_uris"))
		app.Groups, app.RequireMFA, app.LaunchURL = splitComma(f("groups")), f("require_mfa") != "", f("launch_url")
		return nil
	})
	if err != nil {
		c.refuse(w, err, func(status int, message string) {
			app, err := c.dir.App(r.Context(), name)
			if err != nil || app.OIDC == nil {
				c.pages.Message(w, status, "Not done", message)
				return
			}
			c.showOIDCAppStatus(w, r, a, status, app, "", "", message)
		})
		return
	}
	c.audit(r, a, name, "app edit --oidc")
	http.Redirect(w, r, "/admin/apps/"+url.PathEscape(name)+"?done=saved", http.StatusSeeOther)
}

// rotateSecret gives a confidential OIDC app a new secret, shown once,
// as `atrium app rotate-secret` does.
func (c *Console) rotateSecret(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	secret, err := c.dir.RotateClientSecret(r.Context(), name)
	var app directory.App
	if err == nil {
		app, err = c.dir.App(r.Context(), name)
	}
	if err != nil {
		c.refuse(w, err, func(status int, message string) {
			c.showApps(w, r, a, status, "apps.html", appsView{}, "", message)
		})
		return
	}
	c.audit(r, a, name, "app rotate-secret")
	c.showOIDCApp(w, r, a, app, secret, "The secret is replaced; the old one no longer works.")
}

// splitComma splits a comma-separated list, as the CLI's --groups.
func splitComma(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}
