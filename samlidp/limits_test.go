package samlidp_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/crewjam/saml"
)

// An AuthnRequest ID longer than 256 characters is refused with a SAML
// error that does not echo it; one of 256 is served.
func TestLongRequestIDRefused(t *testing.T) {
	h := newHarness(t)
	cloudflareApp(h)
	long := "id-" + strings.Repeat("x", 60<<10)
	p := newBrowser(t).get(redirectRequest(h.srv.URL, authnXML(long, cloudflareACS, "", h.clock.Now(), ""), ""))
	if p.status != 400 || !strings.Contains(p.body, "ID too long") {
		t.Fatalf("a 60 KB request ID: %d\n%.2000s", p.status, p.body)
	}
	if got := errorStatus(t, p); got != saml.StatusRequester {
		t.Errorf("error status %q, want Requester", got)
	}
	_, form := p.form()
	raw, _ := base64.StdEncoding.DecodeString(form.Get("SAMLResponse"))
	if strings.Contains(string(raw), "xxxxxxxx") || len(p.body) > 16<<10 {
		t.Errorf("the refusal echoes the ID (%d bytes of page)", len(p.body))
	}
	ok := "id-" + strings.Repeat("y", 253)
	if p := newBrowser(t).get(redirectRequest(h.srv.URL, authnXML(ok, cloudflareACS, "", h.clock.Now(), ""), "")); !strings.Contains(p.body, `name="password"`) {
		t.Errorf("a 256-character ID: %d\n%s", p.status, p.body)
	}
}
