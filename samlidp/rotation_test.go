package samlidp_test

import (
	"context"
	"testing"

	"github.com/crewjam/saml"

	"github.com/atrium-dir/atrium/samlidp"
)

// spTrusting is an SP for entityID/acs that knows only cert (base64 DER)
// among the IdP's published certificates.
func spTrusting(h *harness, entityID, acs string, cert string) *saml.ServiceProvider {
	sp := h.sp(entityID, acs)
	idp := &sp.IDPMetadata.IDPSSODescriptors[0]
	var keep []saml.KeyDescriptor
	for _, kd := range idp.KeyDescriptors {
		if kd.KeyInfo.X509Data.X509Certificates[0].Data == cert {
			keep = append(keep, kd)
		}
	}
	idp.KeyDescriptors = keep
	return sp
}

func certs(h *harness) []string {
	var out []string
	for _, kd := range h.metadata().IDPSSODescriptors[0].KeyDescriptors {
		out = append(out, kd.KeyInfo.X509Data.X509Certificates[0].Data)
	}
	return out
}

// accepts reports whether sp accepts a login by alice through it.
func accepts(t *testing.T, h *harness, sp *saml.ServiceProvider) bool {
	t.Helper()
	b := newBrowser(t)
	login, reqID := startRedirect(t, h, b, sp, "")
	raw, _ := samlResponse(t, b.signIn(h.srv.URL, login, "alice", "alice-password"), sp.AcsURL.String())
	_, err := sp.ParseXMLResponse(raw, []string{reqID}, sp.AcsURL)
	return err == nil
}

func TestCertificateRotation(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	const grafana, grafanaACS = "https://grafana.example/saml/metadata", "https://grafana.example/saml/acs"
	cloudflareApp(h)
	h.addApp(samlidp.AppSpec{Name: "grafana", EntityID: grafana, ACS: grafanaACS})

	old := certs(h)
	if len(old) != 1 {
		t.Fatalf("metadata publishes %d certificates before a rotation", len(old))
	}
	must(t, samlidp.StageKey(ctx, h.dir))
	staged := certs(h)
	if len(staged) != 2 || staged[1] != old[0] {
		t.Fatalf("after staging, metadata should publish the new and the old certificate")
	}
	newCert := staged[0]
	if err := samlidp.StageKey(ctx, h.dir); err == nil {
		t.Error("a second stage was accepted")
	}
	// Grafana got the new certificate early; Cloudflare still has the old.
	must(t, samlidp.UseNextKey(ctx, h.dir, "grafana"))

	cfOld, cfNew := spTrusting(h, cloudflareACS, cloudflareACS, old[0]), spTrusting(h, cloudflareACS, cloudflareACS, newCert)
	grOld, grNew := spTrusting(h, grafana, grafanaACS, old[0]), spTrusting(h, grafana, grafanaACS, newCert)
	for _, c := range []struct {
		name string
		sp   *saml.ServiceProvider
		want bool
	}{
		{"cloudflare knowing the old certificate", cfOld, true},
		{"cloudflare knowing only the new certificate", cfNew, false},
		{"grafana moved early, knowing the new certificate", grNew, true},
		{"grafana moved early, knowing only the old certificate", grOld, false},
	} {
		if got := accepts(t, h, c.sp); got != c.want {
			t.Errorf("during the overlap, %s: accepted=%v, want %v", c.name, got, c.want)
		}
	}

	must(t, samlidp.SwitchKey(ctx, h.dir))
	switched := certs(h)
	if len(switched) != 2 || switched[0] != newCert || switched[1] != old[0] {
		t.Fatalf("after the switch the metadata should list the new, then the previous certificate")
	}
	if !accepts(t, h, cfNew) || accepts(t, h, cfOld) {
		t.Error("after the switch, cloudflare should be signed with the new certificate only")
	}
	must(t, samlidp.FinishRotation(ctx, h.dir))
	if final := certs(h); len(final) != 1 || final[0] != newCert {
		t.Errorf("after finishing, metadata should publish only the new certificate")
	}
}
