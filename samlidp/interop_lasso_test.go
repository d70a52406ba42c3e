package samlidp_test

import (
	"bytes"
	"encoding/base64"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/samlidp"
)

// TestLassoEncryptedAssertion registers a python3-lasso SP with --encrypt
// from metadata that offers an encryption certificate; the assertion
// travels encrypted to that certificate, and lasso decrypts it with the
// SP's private key, checks its signature and accepts it.
func TestLassoEncryptedAssertion(t *testing.T) {
	python := interopPython(t, "lasso", "python3-lasso")
	h := newHarness(t)
	dir := t.TempDir()
	interopKeyPair(t, dir)
	sp := interopStartSP(t, exec.Command(python, "testdata/interop/lasso_sp.py",
		h.srv.URL+"/saml/metadata", filepath.Join(dir, "sp.key"), filepath.Join(dir, "sp.crt")))
	app := h.addApp(samlidp.AppSpec{Name: "lasso", Metadata: sp.metadata(t), Encrypt: true})
	if !app.Encrypt || app.EncryptionCert == "" {
		t.Fatalf("app registered without encryption: %+v", app)
	}

	b := newBrowser(t)
	posted := sp.login(t, h, b, "alice")
	raw, _ := samlResponse(t, posted, sp.URL+"/acs")
	if !bytes.Contains(raw, []byte("EncryptedAssertion")) || bytes.Contains(raw, []byte("alice")) || bytes.Contains(raw, []byte("<saml:Assertion")) {
		t.Fatalf("the assertion is not (only) sent encrypted:\n%s", raw)
	}
	res, status := sp.post(t, b, posted)
	if status != 200 || res.Error != "" {
		t.Fatalf("lasso refused the response (%d): %s", status, res.Error)
	}
	interopCheckAlice(t, res, "groups")

	// lasso checks the signature: a changed Destination is refused.
	_, tampered := sp.login(t, h, newBrowser(t), "alice").form()
	raw, err := base64.StdEncoding.DecodeString(tampered.Get("SAMLResponse"))
	must(t, err)
	tampered.Set("SAMLResponse", base64.StdEncoding.EncodeToString(bytes.Replace(raw, []byte(`Destination="http://`), []byte(`Destination="https://`), 1)))
	if forged, status := sp.submit(t, b, tampered); status != 403 || !strings.Contains(forged.Error, "signature") {
		t.Errorf("lasso did not refuse a tampered response for its signature (%d): %+v", status, forged)
	}
}
