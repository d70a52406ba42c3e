package samlidp_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crewjam/saml"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// XPaths of the two signatures in a Response.
const (
	interopResponseSig  = "/*[local-name()='Response']/*[local-name()='Signature']"
	interopAssertionSig = "/*[local-name()='Response']/*[local-name()='Assertion']/*[local-name()='Signature']"
)

// TestXMLSecVerify checks a Response captured from a Cloudflare-style login
// with xmlsec1: the Response and the Assertion signatures each verify, with
// the key taken from KeyInfo and its certificate trusted only because it is
// the IdP's published one; a tampered copy fails. The signature of a SAML
// error Response verifies too.
func TestXMLSecVerify(t *testing.T) {
	xmlsec := testenv.Tool(t, "xmlsec1", "xmlsec1")
	h := newHarness(t)
	cloudflareApp(h)
	sp := h.sp(cloudflareACS, cloudflareACS)
	b := newBrowser(t)
	login, _ := startRedirect(t, h, b, sp, "")
	raw, _ := samlResponse(t, b.signIn(h.srv.URL, login, "alice", "alice-password"), cloudflareACS)

	// A SAML error Response (IsPassive without a session) is signed too.
	passive, err := sp.MakeAuthenticationRequest(h.srv.URL+"/saml/sso", saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	must(t, err)
	yes := true
	passive.IsPassive = &yes
	passiveURL, err := passive.Redirect("", sp)
	must(t, err)
	errorRaw, _ := samlResponse(t, newBrowser(t).get(passiveURL.String()), cloudflareACS)
	if !bytes.Contains(errorRaw, []byte(saml.StatusNoPassive)) {
		t.Fatalf("expected a NoPassive error Response:\n%s", errorRaw)
	}

	dir := t.TempDir()
	idpCert := interopIdPCert(t, h, dir)
	verify := func(doc []byte, trusted, node string) (string, bool) {
		t.Helper()
		path := filepath.Join(dir, "response.xml")
		must(t, os.WriteFile(path, doc, 0o644))
		out, err := interopRun(t, xmlsec, "--verify", "--trusted-pem", trusted,
			"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:Response",
			"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
			"--node-xpath", node, path)
		return out, err == nil
	}

	// Another certificate, to show xmlsec1 does not trust whatever KeyInfo
	// carries.
	otherDir := t.TempDir()
	interopKeyPair(t, otherDir)
	otherCert := filepath.Join(otherDir, "sp.crt")

	// Tampering inside the assertion breaks both signatures (the Response's
	// digest covers the assertion); tampering outside it breaks only the
	// Response's.
	nameTampered := bytes.ReplaceAll(raw, []byte(">alice@example.com<"), []byte(">mallory@example.com<"))
	destTampered := bytes.Replace(raw, []byte(`Destination="`+cloudflareACS), []byte(`Destination="https://evil.example/acs`), 1)
	if bytes.Equal(nameTampered, raw) || bytes.Equal(destTampered, raw) {
		t.Fatalf("nothing to tamper with in:\n%s", raw)
	}
	const (
		ok        = ""
		untrusted = "certificate verification failed"
		digest    = "SignedInfo References (ok/all): 0/1"
	)
	for _, c := range []struct {
		name    string
		doc     []byte
		trusted string
		node    string
		failure string // what xmlsec1 must say when it fails
	}{
		{"Response signature", raw, idpCert, interopResponseSig, ok},
		{"Assertion signature", raw, idpCert, interopAssertionSig, ok},
		{"error Response signature", errorRaw, idpCert, interopResponseSig, ok},
		{"Response signature, other certificate trusted", raw, otherCert, interopResponseSig, untrusted},
		{"Assertion signature, other certificate trusted", raw, otherCert, interopAssertionSig, untrusted},
		{"Response signature, NameID changed", nameTampered, idpCert, interopResponseSig, digest},
		{"Assertion signature, NameID changed", nameTampered, idpCert, interopAssertionSig, digest},
		{"Response signature, Destination changed", destTampered, idpCert, interopResponseSig, digest},
		{"Assertion signature, Destination changed", destTampered, idpCert, interopAssertionSig, ok},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, verified := verify(c.doc, c.trusted, c.node)
			switch {
			case c.failure == ok && (!verified || !strings.Contains(out, "SignedInfo References (ok/all): 1/1")):
				t.Errorf("xmlsec1 --verify failed:\n%s", out)
			case c.failure != ok && verified:
				t.Errorf("xmlsec1 --verify accepted it:\n%s", out)
			case c.failure != ok && !strings.Contains(out, c.failure):
				t.Errorf("xmlsec1 --verify failed without saying %q:\n%s", c.failure, out)
			}
		})
	}
}
