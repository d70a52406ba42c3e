package samlidp_test

import (
	"net/url"
	"slices"
	"testing"

	"github.com/crewjam/saml"

	"github.com/atrium-dir/atrium/samlidp"
)

// TestAttributesLeaveOutEmptyValues: bob has no given name or surname, so
// the generic preset's givenName and surname are left out rather than sent
// empty (mod_auth_mellon logs every empty AttributeValue as an error).
func TestAttributesLeaveOutEmptyValues(t *testing.T) {
	h := newHarness(t)
	const acs = "https://grafana.example.com/saml/acs"
	h.addApp(samlidp.AppSpec{Name: "grafana", EntityID: "https://grafana.example.com/saml/metadata", ACS: acs})
	sp := h.sp("https://grafana.example.com/saml/metadata", acs)
	b := newBrowser(t)
	login, reqID := startRedirect(t, h, b, sp, "")
	raw, _ := samlResponse(t, b.signIn(h.srv.URL, login, "bob", "bob-password"), acs)
	u, _ := url.Parse(acs)
	a, err := sp.ParseXMLResponse(raw, []string{reqID}, *u)
	if err != nil {
		t.Fatalf("the SP refused the response: %v", err)
	}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			if slices.ContainsFunc(at.Values, func(v saml.AttributeValue) bool { return v.Value == "" }) || len(at.Values) == 0 {
				t.Errorf("attribute %s sent with an empty value: %+v", at.Name, at.Values)
			}
		}
	}
	for _, name := range []string{"givenName", "surname"} {
		if got := attributeValues(a, name); got != nil {
			t.Errorf("%s = %q, want it left out", name, got)
		}
	}
	if got := attributeValues(a, "name"); !slices.Equal(got, []string{"Bob Builder"}) {
		t.Errorf("name = %q", got)
	}
}
