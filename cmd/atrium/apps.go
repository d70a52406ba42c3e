package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/samlidp"
	"github.com/atrium-dir/atrium/signin"
)

func appAdd(e *env) error {
	if _, ok := e.flag("oidc"); ok {
		return appAddOIDC(e)
	}
	for _, only := range []string{"redirect-uri", "post-logout-uri", "public", "app-url", "signing-alg", "access-ttl", "id-token-ttl", "refresh-ttl"} {
		if _, ok := e.flag(only); ok || len(e.inv.multi[only]) > 0 {
			return usagef("app add: --%s is for OIDC apps (add --oidc)", only)
		}
	}
	spec := samlidp.AppSpec{Name: e.arg(0), Attributes: e.inv.multi["attribute"]}
	spec.EntityID, _ = e.flag("entity-id")
	spec.ACS, _ = e.flag("acs")
	spec.Preset, _ = e.flag("preset")
	spec.NameID, _ = e.flag("nameid")
	spec.LaunchURL, _ = e.flag("launch-url")
	if g, ok := e.flag("groups"); ok {
		for _, name := range strings.Split(g, ",") {
			if name = strings.TrimSpace(name); name != "" {
				spec.Groups = append(spec.Groups, name)
			}
		}
	}
	_, spec.Encrypt = e.flag("encrypt")
	_, spec.VerifyRequests = e.flag("verify-requests")
	_, spec.IdPInitiated = e.flag("idp-initiated")
	_, spec.RequireMFA = e.flag("require-mfa")
	if src, ok := e.flag("metadata"); ok {
		md, err := samlidp.ReadMetadata(e.ctx, src)
		if err != nil {
			return err
		}
		spec.Metadata = md
	}
	app, err := samlidp.Register(e.ctx, e.dir, spec)
	if err != nil {
		return err
	}
	e.audit("app add", app.Name)
	if e.inv.json {
		return printJSON(e.out, app)
	}
	fmt.Fprintf(e.out, "Registered app %s (entity ID %s)\n", app.Name, app.EntityID)
	fmt.Fprintf(e.out, "Give the app Atrium's metadata: %s/saml/metadata (or 'atrium saml metadata')\n", strings.TrimSuffix(e.cfg.ExternalURL, "/"))
	return nil
}

func appList(e *env) error {
	apps, err := e.dir.ListApps(e.ctx)
	if err != nil {
		return err
	}
	if e.inv.json {
		if apps == nil {
			apps = []directory.App{}
		}
		return printJSON(e.out, apps)
	}
	var rows [][]string
	for _, a := range apps {
		groups := strings.Join(a.Groups, ",")
		if groups == "" {
			groups = "(everyone)"
		}
		id := a.EntityID
		if a.OIDC != nil {
			id = "OIDC client " + a.OIDC.ClientID
		}
		rows = append(rows, []string{a.Name, a.Preset, a.NameID, groups, id})
	}
	return printTable(e.out, []string{"APP", "PRESET", "NAMEID", "GROUPS", "ENTITY ID"}, rows)
}

func appShow(e *env) error {
	a, err := e.dir.App(e.ctx, e.arg(0))
	if err != nil {
		return err
	}
	if e.inv.json {
		return printJSON(e.out, a)
	}
	if a.OIDC != nil {
		return appShowOIDC(e, a)
	}
	var acs, attrs []string
	for _, x := range a.ACS {
		acs = append(acs, x.URL)
	}
	for _, x := range a.Attributes {
		attrs = append(attrs, x.Name+"="+x.Source)
	}
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	return printFields(e.out, [][2]string{
		{"Name", a.Name}, {"Entity ID", a.EntityID}, {"ACS", strings.Join(acs, " ")},
		{"Preset", a.Preset}, {"NameID", a.NameID}, {"Attributes", strings.Join(attrs, " ")},
		{"Groups", strings.Join(a.Groups, ",")}, {"Encrypt", yes(a.Encrypt)}, {"Verify requests", yes(a.VerifyRequests)},
		{"IdP-initiated", yes(a.IdPInitiated)}, {"Launch URL", a.LaunchURL}, {"Require MFA", yes(a.RequireMFA)},
		{"Staged certificate", yes(a.NextCert)},
	})
}

func appDelete(e *env) error {
	if err := e.dir.DeleteApp(e.ctx, e.arg(0)); err != nil {
		return err
	}
	e.audit("app delete", e.arg(0))
	fmt.Fprintf(e.out, "Deleted app %s\n", e.arg(0))
	return nil
}

// newIdP builds the SAML IdP (and the sign-in engine it signs users in
// through) for cfg.
func newIdP(e *env) (*samlidp.IdP, error) {
	// The key is made on first start; a store never served has none yet.
	if err := samlidp.EnsureKey(e.ctx, e.dir); err != nil {
		return nil, err
	}
	ext, err := url.Parse(e.cfg.ExternalURL)
	if err != nil {
		return nil, err
	}
	return samlidp.New(e.dir, signin.New(e.dir, signin.Options{ExternalURL: ext}), samlidp.Options{}), nil
}

func samlMetadata(e *env) error {
	idp, err := newIdP(e)
	if err != nil {
		return err
	}
	md, err := idp.Metadata(e.ctx)
	if err != nil {
		return err
	}
	_, err = e.out.Write(md)
	return err
}

func samlRotate(e *env) error {
	_, doSwitch := e.flag("switch")
	_, finish := e.flag("finish")
	app, oneApp := e.flag("app")
	if err := samlidp.EnsureKey(e.ctx, e.dir); err != nil {
		return err
	}
	var err error
	var msg string
	switch {
	case doSwitch && finish || (doSwitch || finish) && oneApp:
		return usagef("saml rotate-cert: give one of --switch, --finish or --app")
	case oneApp:
		err, msg = samlidp.UseNextKey(e.ctx, e.dir, app), "App "+app+" now signs with the staged certificate."
	case doSwitch:
		err, msg = samlidp.SwitchKey(e.ctx, e.dir), "The staged certificate now signs every app. The old one stays in the metadata until 'atrium saml rotate-cert --finish'."
	case finish:
		err, msg = samlidp.FinishRotation(e.ctx, e.dir), "The old certificate is no longer published."
	default:
		err, msg = samlidp.StageKey(e.ctx, e.dir), "Staged a new signing certificate; the metadata now lists both. Once every app has the new metadata (or certificate), run 'atrium saml rotate-cert --switch'."
	}
	if err != nil {
		return err
	}
	e.audit("saml rotate-cert", app)
	fmt.Fprintln(e.out, msg)
	return nil
}
