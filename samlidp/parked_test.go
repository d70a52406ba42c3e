package samlidp_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
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
	// Before the password, the flow travels sealed in the URL (p.<token>).
	sealed, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(u.Query().Get("flow"), "p."))
	must(t, err)
	raw, err := h.dir.Unseal(sealed, "signin-pending-flow")
	must(t, err)
	var f signin.Flow
	must(t, json.Unmarshal(raw, &f))
	if got := f.AppName(); got != "cloudflare" {
		t.Errorf("flow names %q, want cloudflare", got)
	}
	if got := (&signin.Flow{}).AppName(); got != "Atrium" {
		t.Errorf("a sign-in to the portal names %q, want Atrium", got)
	}
}
