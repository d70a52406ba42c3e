package samlidp_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/atrium-dir/atrium/signin"
)

// TestParkedRequestNamesTheApp: the sign-in flow a SAML request waits in
// names the app, so prompts such as a push to the phone can say it.
func TestParkedRequestNamesTheApp(t *testing.T) {
	h := newHarness(t)
	cloudflareApp(h)
	login, _ := startRedirect(t, h, newBrowser(t), h.sp(cloudflareACS, cloudflareACS), "")
	u, err := url.Parse(login.url)
	must(t, err)
	var f signin.Flow
	must(t, h.dir.State(context.Background(), "flow", u.Query().Get("flow"), &f))
	if got := f.AppName(); got != "cloudflare" {
		t.Errorf("flow names %q, want cloudflare", got)
	}
	if got := (&signin.Flow{}).AppName(); got != "Atrium" {
		t.Errorf("a sign-in to the portal names %q, want Atrium", got)
	}
}
