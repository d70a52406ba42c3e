package console

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"github.com/atrium-dir/atrium/clients"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/samlidp"
	"github.com/atrium-dir/atrium/signin"
)

// One app's page: its settings, and what to paste into the app (this
// server's SSO URL, entity ID, certificate and metadata), with a guide
// through Cloudflare's own screens for Cloudflare Access.

// idpValues are this server's SAML values an app is given.
type idpValues struct {
	SSOURL, EntityID, MetadataURL, Certificate string
}

type appView struct {
	App directory.App
	IdP idpValues
}

func (c *Console) idpValues(r *http.Request) (idpValues, error) {
	if err := samlidp.EnsureKey(r.Context(), c.dir); err != nil {
		return idpValues{}, err
	}
	cert, err := samlidp.SigningCertificate(r.Context(), c.dir)
	if err != nil {
		return idpValues{}, err
	}
	md := c.signin.URL("/saml/metadata")
	return idpValues{SSOURL: c.signin.URL("/saml/sso"), EntityID: md, MetadataURL: md, Certificate: certPEM(cert)}, nil
}

func (c *Console) app(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	notice := map[string]string{"created": "The app is added. Give it the values below.", "saved": "The changes are saved.",
		"next-cert": "The app now signs with the staged certificate."}[r.URL.Query().Get("done")]
	c.showApp(w, r, a, http.StatusOK, "app.html", notice, "")
}

// editApp changes a SAML app's settings through samlidp.Update, under
// the rules the app was registered with.
func (c *Console) editApp(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	spec := settingsSpec(r)
	if _, err := samlidp.Update(r.Context(), c.dir, name, spec); err != nil {
		c.refuse(w, err, func(status int, message string) {
			c.showApp(w, r, a, status, "app.html", "", message)
		})
		return
	}
	c.audit(r, a, name, "app edit")
	http.Redirect(w, r, "/admin/apps/"+url.PathEscape(name)+"?done=saved", http.StatusSeeOther)
}

func (c *Console) showApp(w http.ResponseWriter, r *http.Request, a signin.Account, status int, page, notice, problem string) {
	app, err := c.dir.App(r.Context(), r.PathValue("name"))
	if err != nil {
		c.refuse(w, err, func(status int, message string) { c.pages.Message(w, status, "No such app", message) })
		return
	}
	if app.OIDC != nil && page == "app.html" {
		c.showOIDCApp(w, r, a, app, "", notice)
		return
	}
	v := appView{App: app}
	if v.IdP, err = c.idpValues(r); err != nil {
		c.fail(w, "SAML values", err)
		return
	}
	title := app.Name
	if page == "app-delete.html" {
		title = "Delete " + app.Name
	}
	c.show(w, status, page, title, view{Admin: a, Section: "apps", Notice: notice, Error: problem, Data: v})
}

func (c *Console) confirmDeleteApp(w http.ResponseWriter, r *http.Request) {
	if a, ok := c.admin(w, r); ok {
		c.showApp(w, r, a, http.StatusOK, "app-delete.html", "", "")
	}
}

// deleteApp removes the app once the admin has typed its name.
func (c *Console) deleteApp(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	err := error(&confirmError{uid: name})
	if r.PostFormValue("confirm") == name {
		err = c.dir.DeleteApp(r.Context(), name)
	}
	if err != nil {
		c.refuse(w, err, func(status int, message string) {
			c.showApps(w, r, a, status, "apps.html", appsView{}, "", message)
		})
		return
	}
	c.audit(r, a, name, "app delete")
	http.Redirect(w, r, "/admin/apps?done=deleted", http.StatusSeeOther)
}

// cloudflareGuide walks through Cloudflare Access's screens with this
// server's values, from the same data as docs/clients.
func (c *Console) cloudflareGuide(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	s := clients.DefaultSettings()
	s.ExternalURL = strings.TrimSuffix(c.signin.URL("/"), "/")
	// The guide's group is that of a Cloudflare app already added.
	apps, err := c.dir.ListApps(r.Context())
	if err != nil {
		c.fail(w, "apps", err)
		return
	}
	for _, app := range apps {
		if app.Preset == "cloudflare" && app.OIDC == nil && len(app.Groups) > 0 {
			s.Group = app.Groups[0]
			break
		}
	}
	if err := samlidp.EnsureKey(r.Context(), c.dir); err != nil {
		c.fail(w, "SAML key", err)
		return
	}
	cert, err := samlidp.SigningCertificate(r.Context(), c.dir)
	if err != nil {
		c.fail(w, "SAML certificate", err)
		return
	}
	s.SigningCert = base64.StdEncoding.EncodeToString(cert.Raw)
	guide, err := clients.Guide("cloudflare", s)
	if err != nil {
		c.fail(w, "cloudflare guide", err)
		return
	}
	c.show(w, http.StatusOK, "app-guide.html", "Connect Cloudflare Access", view{Admin: a, Section: "apps", Data: guide})
}
