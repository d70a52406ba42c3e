package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

// An OIDC app's page edits its redirect and post-logout URIs, allowed
// groups, second factor and launch URL through directory.UpdateOIDCApp;
// the change is audited. A bad redirect URI or a missing group is refused
// with the reason shown as text, and the app stays as it was; so does a
// POST without the CSRF token.
func TestEditOIDCApp(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	ctx := context.Background()
	app, _, err := st.d.CreateOIDCApp(ctx, directory.App{Name: "grafana", OIDC: &directory.OIDCClient{RedirectURIs: []string{"https://grafana.example/cb"}}})
	if err != nil {
		t.Fatal(err)
	}
	c := st.client()
	c.signIn("/admin/", "admin")
	if _, page := c.get("/admin/apps/grafana"); !strings.Contains(page, `id="edit-oidc-app"`) || !strings.Contains(page, "https://grafana.example/cb") {
		t.Fatalf("the app's page has no settings form:\n%.600s", page)
	}
	form := url.Values{"redirect_uris": {"https://g.example/cb\nhttp://127.0.0.1:3000/cb"}, "post_logout_uris": {"https://g.example/"},
		"groups": {"ops, admins"}, "require_mfa": {"on"}, "launch_url": {"https://g.example/"}}
	if resp, body := c.submit("/admin/apps/grafana", "/admin/apps/grafana/oidc", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the edit: %d\n%.600s", resp.StatusCode, body)
	}
	got, _ := st.d.App(ctx, "grafana")
	if !slices.Equal(got.OIDC.RedirectURIs, []string{"https://g.example/cb", "http://127.0.0.1:3000/cb"}) ||
		!slices.Equal(got.OIDC.PostLogoutURIs, []string{"https://g.example/"}) || !slices.Equal(got.Groups, []string{"ops", "admins"}) ||
		!got.RequireMFA || got.LaunchURL != "https://g.example/" || got.OIDC.ClientID != app.OIDC.ClientID {
		t.Errorf("after the edit: %+v %+v", got, got.OIDC)
	}
	for _, bad := range []struct {
		field, value, want string
		status             int
	}{
		{"redirect_uris", "javascript:<b>alert(1)</b>", "give an absolute http(s) URL", http.StatusBadRequest},
		{"redirect_uris", "", "at least one redirect URI", http.StatusBadRequest},
		{"post_logout_uris", "https://g.example/#frag", "without a fragment", http.StatusBadRequest},
		{"groups", "nobody", `group &#34;nobody&#34;`, http.StatusNotFound},
	} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set(bad.field, bad.value)
		resp, body := c.submit("/admin/apps/grafana", "/admin/apps/grafana/oidc", f)
		if resp.StatusCode != bad.status || !strings.Contains(body, bad.want) || strings.Contains(body, "<b>alert") {
			t.Errorf("%s %q: %d, want %d naming %q as text\n%.800s", bad.field, bad.value, resp.StatusCode, bad.status, bad.want, body)
		}
		if again, _ := st.d.App(ctx, "grafana"); !slices.Equal(again.OIDC.RedirectURIs, got.OIDC.RedirectURIs) ||
			!slices.Equal(again.OIDC.PostLogoutURIs, got.OIDC.PostLogoutURIs) || !slices.Equal(again.Groups, got.Groups) {
			t.Errorf("a refused edit changed the app: %+v %+v", again, again.OIDC)
		}
	}
	resp, body := c.do("POST", "/admin/apps/grafana/oidc", url.Values{"redirect_uris": {"https://evil.example/cb"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Form expired") {
		t.Errorf("a CSRF-less edit: %d", resp.StatusCode)
	}
	if again, _ := st.d.App(ctx, "grafana"); slices.Contains(again.OIDC.RedirectURIs, "https://evil.example/cb") {
		t.Error("a CSRF-less POST changed the redirect URIs")
	}
	_, raw := c.get("/admin/audit?service=console&format=json")
	var events []directory.AuditEvent
	json.Unmarshal([]byte(raw), &events)
	edits := slices.DeleteFunc(events, func(e directory.AuditEvent) bool {
		return e.Subject != "grafana" || e.Detail != "app edit --oidc" || e.Actor != "admin"
	})
	if len(edits) != 1 {
		t.Errorf("%d audited edits of grafana by admin, want 1: %+v", len(edits), edits)
	}
}
