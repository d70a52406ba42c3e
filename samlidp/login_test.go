package samlidp_test

import (
	"crypto/x509"
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/atrium-dir/atrium/samlidp"
)

func cloudflareApp(h *harness) {
	h.addApp(samlidp.AppSpec{Name: "cloudflare", Preset: "cloudflare", EntityID: cloudflareACS, ACS: cloudflareACS, Groups: []string{"everyone"}})
}

// startRedirect begins an SP-initiated login over HTTP-Redirect and
// returns the login page and the request ID.
func startRedirect(t *testing.T, h *harness, b *browser, sp *saml.ServiceProvider, relayState string) (page, string) {
	t.Helper()
	req, err := sp.MakeAuthenticationRequest(h.srv.URL+"/saml/sso", saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	must(t, err)
	u, err := req.Redirect(relayState, sp)
	must(t, err)
	return b.get(u.String()), req.ID
}

func startPost(t *testing.T, h *harness, b *browser, sp *saml.ServiceProvider, relayState string) (page, string) {
	t.Helper()
	req, err := sp.MakeAuthenticationRequest(h.srv.URL+"/saml/sso", saml.HTTPPostBinding, saml.HTTPPostBinding)
	must(t, err)
	doc := etree.NewDocument()
	doc.SetRoot(req.Element())
	raw, err := doc.WriteToBytes()
	must(t, err)
	return b.post(h.srv.URL+"/saml/sso", url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(raw)}, "RelayState": {relayState}}), req.ID
}

func TestCloudflareLogin(t *testing.T) {
	for _, binding := range []string{"redirect", "post"} {
		t.Run(binding, func(t *testing.T) {
			h := newHarness(t)
			cloudflareApp(h)
			sp := h.sp(cloudflareACS, cloudflareACS)
			b := newBrowser(t)
			relay := "cf-relay-" + strings.Repeat("x", 200)
			start := startRedirect
			if binding == "post" {
				start = startPost
			}
			login, reqID := start(t, h, b, sp, relay)
			// A slow sign-in: validity comes from Atrium's clock when the
			// assertion is made, not from the request's IssueInstant.
			h.clock.Advance(4 * time.Minute)
			done := b.signIn(h.srv.URL, login, "alice@example.com", "alice-password")
			raw, gotRelay := samlResponse(t, done, cloudflareACS)
			if gotRelay != relay {
				t.Errorf("RelayState = %q, want it echoed verbatim", gotRelay)
			}
			acs, _ := url.Parse(cloudflareACS)
			assertion, err := sp.ParseXMLResponse(raw, []string{reqID}, *acs)
			if err != nil {
				t.Fatalf("the SP refused the response: %v", err)
			}
			checkCloudflareAssertion(t, assertion)
			checkSignedXML(t, h, raw, reqID)
		})
	}
}

func attributeValues(a *saml.Assertion, name string) []string {
	var out []string
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			if at.Name == name {
				for _, v := range at.Values {
					out = append(out, v.Value)
				}
			}
		}
	}
	return out
}

func checkCloudflareAssertion(t *testing.T, a *saml.Assertion) {
	t.Helper()
	if a.Subject.NameID.Format != "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" || a.Subject.NameID.Value != "alice@example.com" {
		t.Errorf("NameID = %+v, want alice's email in emailAddress format", a.Subject.NameID)
	}
	want := map[string][]string{
		"email": {"alice@example.com"}, "name": {"Alice Liddell"}, "username": {"alice"},
		"groups": {"everyone", "staff"}, "memberOf": {"everyone", "staff"}, "amr": {"pwd"},
	}
	for name, values := range want {
		if got := attributeValues(a, name); !slices.Equal(got, values) {
			t.Errorf("attribute %s = %q, want %q (one value each)", name, got, values)
		}
	}
	if got := a.AuthnStatements[0].AuthnContext.AuthnContextClassRef.Value; got != "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport" {
		t.Errorf("AuthnContextClassRef = %s", got)
	}
}

// checkSignedXML checks what Cloudflare requires of the raw Response: the
// Response and the Assertion each signed (RSA-SHA256, SHA-256 digest,
// exclusive c14n) with the metadata's certificate in KeyInfo, every
// condition from Atrium's clock, and no ip:port subject address.
func checkSignedXML(t *testing.T, h *harness, raw []byte, reqID string) {
	t.Helper()
	md := h.metadata()
	certB64 := md.IDPSSODescriptors[0].KeyDescriptors[0].KeyInfo.X509Data.X509Certificates[0].Data
	der, _ := base64.StdEncoding.DecodeString(certB64)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})

	doc := etree.NewDocument()
	must(t, doc.ReadFromBytes(raw))
	resp := doc.Root()
	assertion := resp.FindElement("./Assertion")
	if assertion == nil {
		t.Fatal("no Assertion in the Response")
	}
	for name, el := range map[string]*etree.Element{"Response": resp, "Assertion": assertion} {
		sig := el.FindElement("./Signature")
		if sig == nil {
			t.Fatalf("%s is not signed", name)
		}
		if m := sig.FindElement(".//SignatureMethod").SelectAttrValue("Algorithm", ""); m != dsig.RSASHA256SignatureMethod {
			t.Errorf("%s signature method %s", name, m)
		}
		if m := sig.FindElement(".//DigestMethod").SelectAttrValue("Algorithm", ""); m != "http://www.w3.org/2001/04/xmlenc#sha256" {
			t.Errorf("%s digest method %s", name, m)
		}
		if m := sig.FindElement(".//CanonicalizationMethod").SelectAttrValue("Algorithm", ""); m != "http://www.w3.org/2001/10/xml-exc-c14n#" {
			t.Errorf("%s c14n %s", name, m)
		}
		if got := strings.Join(strings.Fields(sig.FindElement(".//X509Certificate").Text()), ""); got != certB64 {
			t.Errorf("%s KeyInfo certificate differs from the metadata's", name)
		}
		if _, err := vctx.Validate(el.Copy()); err != nil {
			t.Errorf("%s signature does not verify: %v", name, err)
		}
	}
	issue, _ := time.Parse(time.RFC3339, assertion.SelectAttrValue("IssueInstant", ""))
	at := func(path, attr string) string {
		e := assertion.FindElement(path)
		if e == nil {
			t.Fatalf("no %s", path)
		}
		return e.SelectAttrValue(attr, "")
	}
	parse := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	if nb := parse(at("./Conditions", "NotBefore")); !nb.Equal(issue.Add(-2 * time.Minute)) {
		t.Errorf("NotBefore %s, want IssueInstant - 2m (%s)", nb, issue)
	}
	if na := parse(at("./Conditions", "NotOnOrAfter")); !na.Equal(issue.Add(5 * time.Minute)) {
		t.Errorf("NotOnOrAfter %s, want IssueInstant + 5m", na)
	}
	if d := issue.Sub(h.clock.Now()); d > 5*time.Second || d < -5*time.Second {
		t.Errorf("IssueInstant %s is not from Atrium's clock %s", issue, h.clock.Now())
	}
	scd := "./Subject/SubjectConfirmation/SubjectConfirmationData"
	if got := at(scd, "Recipient"); got != cloudflareACS {
		t.Errorf("Recipient %s", got)
	}
	if got := at(scd, "InResponseTo"); got != reqID {
		t.Errorf("InResponseTo %s, want %s", got, reqID)
	}
	if got := at(scd, "NotOnOrAfter"); !parse(got).Equal(issue.Add(5 * time.Minute)) {
		t.Errorf("SubjectConfirmationData NotOnOrAfter %s, want IssueInstant + 5m", got)
	}
	if got := at("./Subject/SubjectConfirmation", "Method"); got != "urn:oasis:names:tc:SAML:2.0:cm:bearer" {
		t.Errorf("SubjectConfirmation Method %s", got)
	}
	for name, el := range map[string]*etree.Element{"Response": resp, "Assertion": assertion} {
		if iss := el.FindElement("./Issuer"); iss == nil || iss.Text() != h.idp.EntityID() {
			t.Errorf("%s Issuer is not the IdP's entity ID %s", name, h.idp.EntityID())
		}
	}
	if got := at(scd, "Address"); got != "" {
		t.Errorf("SubjectConfirmationData carries Address %q", got)
	}
	if got := resp.SelectAttrValue("Destination", ""); got != cloudflareACS {
		t.Errorf("Destination %s", got)
	}
	if got := resp.SelectAttrValue("InResponseTo", ""); got != reqID {
		t.Errorf("Response InResponseTo %s", got)
	}
	if got := assertion.FindElement("./Conditions/AudienceRestriction/Audience").Text(); got != cloudflareACS {
		t.Errorf("Audience %s", got)
	}
}
