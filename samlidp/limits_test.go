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

// Each refused request logs one short line, however long the values the
// client chose: an ID, an issuer, an ACS URL, a replayed ID.
func TestRefusalsLogBounded(t *testing.T) {
	h := newHarness(t)
	cloudflareApp(h)
	huge := strings.Repeat("z", 60<<10)
	replayed := "id-" + strings.Repeat("r", 250)
	cases := map[string][]byte{
		"long ID":       authnXML("id-"+huge, cloudflareACS, "", h.clock.Now(), ""),
		"long issuer":   authnXML("id-issuer", "https://"+huge, "", h.clock.Now(), ""),
		"long ACS":      authnXML("id-acs", cloudflareACS, "https://"+huge, h.clock.Now(), ""),
		"replayed ID":   authnXML(replayed, cloudflareACS, "", h.clock.Now(), ""),
		"replayed ID 2": authnXML(replayed, cloudflareACS, "", h.clock.Now(), ""),
	}
	for _, name := range []string{"long ID", "long issuer", "long ACS", "replayed ID", "replayed ID 2"} {
		before := len(h.logs.String())
		p := newBrowser(t).get(redirectRequest(h.srv.URL, cases[name], ""))
		logged := h.logs.String()[before:]
		if name == "replayed ID" {
			continue // its first use is served
		}
		if p.status != 400 || !strings.Contains(logged, "saml request refused") {
			t.Errorf("%s: %d, logged %q", name, p.status, logged)
		}
		if len(logged) >= 1024 {
			t.Errorf("%s: refusal logged %d bytes, want < 1 KB: %.300s…", name, len(logged), logged)
		}
	}
}

// A request with a second root element, after the AuthnRequest or before
// it, is refused; comments and spaces around the one root are fine.
func TestSecondRootElementRefused(t *testing.T) {
	h := newHarness(t)
	cloudflareApp(h)
	req := func(id string) string { return string(authnXML(id, cloudflareACS, "", h.clock.Now(), "")) }
	for name, doc := range map[string]string{
		"after":  req("id-after") + req("id-after-2"),
		"before": `<other xmlns="urn:x"/>` + req("id-before"),
		"text":   req("id-text") + "trailing",
	} {
		p := newBrowser(t).get(redirectRequest(h.srv.URL, []byte(doc), ""))
		if p.status != 400 || !strings.Contains(p.body, "not well-formed") {
			t.Errorf("%s: %d\n%s", name, p.status, p.body)
		}
	}
	ok := "<?xml version=\"1.0\"?>\n<!-- sp -->\n" + req("id-one-root") + "\n<!-- end -->\n"
	if p := newBrowser(t).get(redirectRequest(h.srv.URL, []byte(ok), "")); !strings.Contains(p.body, `name="password"`) {
		t.Errorf("one root with comments: %d\n%s", p.status, p.body)
	}
}
