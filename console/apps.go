package console

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/samlidp"
	"github.com/atrium-dir/atrium/signin"
)

// Apps: the SAML and OIDC apps users sign in to. A SAML app is added from
// its metadata (an uploaded file or a URL) or its entity ID and ACS URL,
// through samlidp.Register as `atrium app add` does; the signing
// certificate rotates in the steps of `atrium saml rotate-cert`.

// metadataLimit caps an uploaded metadata file; web.Protect caps the
// whole request at the same size.
const metadataLimit = 256 << 10

type appsView struct {
	Apps []directory.App
	// Spec is the form being filled in again after a refusal.
	Spec samlidp.AppSpec
	// Groups is the form's allowed groups as typed.
	Groups string
}

var appNotices = map[string]string{
	"deleted": "The app is deleted.",
	"stage":   "A new signing certificate is staged; the metadata now lists both. Once every app has the new metadata (or certificate), switch to it.",
	"switch":  "The new certificate now signs every app. The old one stays in the metadata until you finish the rotation.",
	"finish":  "The old certificate is no longer published.",
}

func (c *Console) apps(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	c.showApps(w, r, a, http.StatusOK, "apps.html", appsView{}, appNotices[r.URL.Query().Get("done")], "")
}

func (c *Console) newApp(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	spec := samlidp.AppSpec{Preset: r.URL.Query().Get("preset")}
	c.showApps(w, r, a, http.StatusOK, "app-new.html", appsView{Spec: spec}, "", "")
}

func (c *Console) showApps(w http.ResponseWriter, r *http.Request, a signin.Account, status int, page string, v appsView, notice, problem string) {
	var err error
	if v.Apps, err = c.dir.ListApps(r.Context()); err != nil {
		c.fail(w, "apps", err)
		return
	}
	title := "Apps"
	if page == "app-new.html" {
		title = "Add a SAML app"
	}
	c.show(w, status, page, title, view{Admin: a, Section: "apps", Notice: notice, Error: problem, Data: v})
}

// createApp registers a SAML app from the form, as `atrium app add` does.
func (c *Console) createApp(w http.ResponseWriter, r *http.Request) {
	// The form uploads a file: read it as multipart before the CSRF check,
	// which reads the token from the parsed form.
	if err := r.ParseMultipartForm(metadataLimit); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		c.pages.Message(w, http.StatusRequestEntityTooLarge, "Form not read", "The form could not be read; a metadata file must be smaller than 256 KiB.")
		return
	}
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	spec, err := c.appSpec(r)
	var app directory.App
	if err == nil {
		app, err = samlidp.Register(r.Context(), c.dir, spec)
	}
	if err != nil {
		c.refuse(w, err, func(status int, message string) {
			v := appsView{Spec: spec, Groups: r.PostFormValue("groups")}
			c.showApps(w, r, a, status, "app-new.html", v, "", message)
		})
		return
	}
	c.audit(r, a, app.Name, "app add")
	http.Redirect(w, r, "/admin/apps/"+url.PathEscape(app.Name)+"?done=created", http.StatusSeeOther)
}

// appSpec reads the new-app form: the metadata comes from the uploaded
// file or the URL; samlidp refuses it together with an entity ID.
func (c *Console) appSpec(r *http.Request) (samlidp.AppSpec, error) {
	f := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	spec := settingsSpec(r)
	spec.Name = f("name")
	spec.EntityID, spec.ACS = f("entity_id"), f("acs")
	md, err := c.uploadedMetadata(r)
	switch {
	case err != nil:
		return spec, err
	case md != nil && f("metadata_url") != "":
		err = fmt.Errorf("give the metadata as a file or as a URL, not both: %w", directory.ErrInvalid)
	case md != nil:
		spec.Metadata = md
	case f("metadata_url") != "":
		spec.Metadata, err = c.fetchMetadata(r, f("metadata_url"))
	}
	return spec, err
}

// settingsSpec reads the settings an app's forms share: preset, groups,
// NameID, attributes and options.
func settingsSpec(r *http.Request) samlidp.AppSpec {
	f := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	spec := samlidp.AppSpec{
		Preset: f("preset"), NameID: f("nameid"), LaunchURL: f("launch_url"), Groups: splitComma(f("groups")),
		Encrypt: f("encrypt") != "", VerifyRequests: f("verify_requests") != "",
		IdPInitiated: f("idp_initiated") != "", RequireMFA: f("require_mfa") != "",
	}
	for _, line := range strings.Split(f("attributes"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			spec.Attributes = append(spec.Attributes, line)
		}
	}
	return spec
}

func (c *Console) uploadedMetadata(r *http.Request) ([]byte, error) {
	file, _, err := r.FormFile("metadata")
	if errors.Is(err, http.ErrMissingFile) || errors.Is(err, http.ErrNotMultipart) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the metadata file could not be read: %w", directory.ErrInvalid)
	}
	defer file.Close()
	raw, err := io.ReadAll(io.LimitReader(file, metadataLimit+1))
	if err != nil || len(raw) > metadataLimit {
		return nil, fmt.Errorf("the metadata file must be smaller than 256 KiB: %w", directory.ErrInvalid)
	}
	if len(raw) == 0 {
		return nil, nil
	}
	return raw, nil
}

// fetchMetadata reads an app's metadata from a URL; only http(s) URLs,
// never a file on the server.
func (c *Console) fetchMetadata(r *http.Request, raw string) ([]byte, error) {
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("the metadata URL must be an http or https URL: %w", directory.ErrInvalid)
	}
	md, err := samlidp.ReadMetadata(r.Context(), raw)
	if err != nil {
		c.log.Warn("console: fetch app metadata", "url", raw, "err", err)
		return nil, fmt.Errorf("the metadata could not be fetched from %s: %w", raw, directory.ErrInvalid)
	}
	return md, nil
}

// rotateCert runs one step of the signing certificate's rotation, as
// `atrium saml rotate-cert [--switch|--finish]` does.
func (c *Console) rotateCert(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	step := r.PostFormValue("step")
	steps := map[string]func() error{
		"stage":  func() error { return samlidp.StageKey(r.Context(), c.dir) },
		"switch": func() error { return samlidp.SwitchKey(r.Context(), c.dir) },
		"finish": func() error { return samlidp.FinishRotation(r.Context(), c.dir) },
	}
	run, known := steps[step]
	err := fmt.Errorf("unknown rotation step %q: %w", step, directory.ErrInvalid)
	if known {
		if err = samlidp.EnsureKey(r.Context(), c.dir); err == nil {
			err = run()
		}
	}
	if err != nil {
		c.refuse(w, err, func(status int, message string) {
			c.showApps(w, r, a, status, "apps.html", appsView{}, "", message)
		})
		return
	}
	c.audit(r, a, "saml", "saml rotate-cert "+step)
	http.Redirect(w, r, "/admin/apps?done="+step, http.StatusSeeOther)
}

// useNextCert moves one app to the staged certificate ahead of the
// switch, as `atrium saml rotate-cert --app NAME` does.
func (c *Console) useNextCert(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if err := samlidp.UseNextKey(r.Context(), c.dir, name); err != nil {
		c.refuse(w, err, func(status int, message string) { c.showApp(w, r, a, status, "app.html", "", message) })
		return
	}
	c.audit(r, a, name, "saml rotate-cert --app")
	http.Redirect(w, r, "/admin/apps/"+url.PathEscape(name)+"?done=next-cert", http.StatusSeeOther)
}

// certPEM is the SAML signing certificate as PEM, for the app to paste.
func certPEM(cert *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
}
