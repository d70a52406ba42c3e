package directory_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// UpdateOIDCApp keeps the creation rules: a bad redirect or post-logout
// URI, a missing group or a SAML app is refused and nothing changes; the
// client ID and secret stay.
func TestUpdateOIDCApp(t *testing.T) {
	d, _, _ := oidcTestDir(t)
	ctx := context.Background()
	app, secret, err := d.CreateOIDCApp(ctx, directory.App{Name: "grafana", OIDC: &directory.OIDCClient{RedirectURIs: []string{"https://grafana.example/cb"}}})
	must(t, err)
	_, err = d.CreateGroup(ctx, directory.Group{CN: "ops"})
	must(t, err)
	got, err := d.UpdateOIDCApp(ctx, "grafana", func(a *directory.App) error {
		a.OIDC.RedirectURIs, a.OIDC.PostLogoutURIs = []string{"https://g.example/cb"}, []string{"https://g.example/"}
		a.Groups, a.RequireMFA, a.LaunchURL = []string{"ops"}, true, "https://g.example/"
		a.OIDC.ClientID = "changed"
		return nil
	})
	must(t, err)
	if got.OIDC.ClientID != app.OIDC.ClientID || !slices.Equal(got.OIDC.RedirectURIs, []string{"https://g.example/cb"}) || !got.RequireMFA {
		t.Fatalf("after the update: %+v %+v", got, got.OIDC)
	}
	must(t, d.CheckClientSecret(ctx, app.OIDC.ClientID, secret))
	for what, fn := range map[string]func(*directory.App){
		"redirect":    func(a *directory.App) { a.OIDC.RedirectURIs = []string{"javascript:alert(1)"} },
		"no redirect": func(a *directory.App) { a.OIDC.RedirectURIs = nil },
		"post-logout": func(a *directory.App) { a.OIDC.PostLogoutURIs = []string{"https://g.example/#x"} },
	} {
		if _, err := d.UpdateOIDCApp(ctx, "grafana", func(a *directory.App) error { fn(a); return nil }); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", what, err)
		}
	}
	if _, err := d.UpdateOIDCApp(ctx, "grafana", func(a *directory.App) error { a.Groups = []string{"nobody"}; return nil }); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("a missing group: %v, want not found", err)
	}
	if again, _ := d.App(ctx, "grafana"); again.OIDC.ClientID != app.OIDC.ClientID || !slices.Equal(again.OIDC.RedirectURIs, got.OIDC.RedirectURIs) || !slices.Equal(again.Groups, []string{"ops"}) {
		t.Errorf("refused updates changed the app: %+v", again)
	}
	_, err = d.CreateApp(ctx, directory.App{Name: "wiki", EntityID: "https://wiki.example/sp", ACS: []directory.Endpoint{{URL: "https://wiki.example/acs"}}})
	must(t, err)
	if _, err := d.UpdateOIDCApp(ctx, "wiki", func(*directory.App) error { return nil }); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("a SAML app: %v, want invalid", err)
	}
}
