package samlidp_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"math/big"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Helpers shared by the interop tests, which drive SAML service providers
// written by others (python3-onelogin-saml2, python3-lasso,
// @node-saml/node-saml) and xmlsec1 against the harness's IdP.

// interopSP is an outside SP running as a small HTTP server on loopback:
// GET /metadata is its SP metadata, GET /login redirects to the IdP with a
// fresh AuthnRequest, and POST /acs answers with an interopResult.
type interopSP struct {
	URL string // base URL, e.g. http://127.0.0.1:41234
}

// interopResult is what an outside SP's ACS reports, as JSON: the NameID
// and attributes it accepted, or why it refused the response.
type interopResult struct {
	NameID       string              `json:"nameid"`
	NameIDFormat string              `json:"nameidFormat"`
	Attributes   map[string][]string `json:"attributes"`
	RelayState   string              `json:"relayState"`
	Error        string              `json:"error"`
}

// interopStartSP runs cmd, which must print its base URL as the first line
// of its standard output, and stops it when the test ends. Its standard
// error goes to the test log, so an SP's own complaint shows on failure.
func interopStartSP(t *testing.T, cmd *exec.Cmd) *interopSP {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	var stderr interopLog
	stderr.t = t
	cmd.Stderr = &stderr
	must(t, cmd.Start())
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- strings.TrimSpace(line)
		io.Copy(io.Discard, stdout)
	}()
	select {
	case line := <-lines:
		if _, err := url.Parse(line); err != nil || !strings.HasPrefix(line, "http://127.0.0.1:") {
			t.Fatalf("%s did not start: first line %q", cmd.Path, line)
		}
		return &interopSP{URL: line}
	case <-time.After(30 * time.Second):
		t.Fatalf("%s printed no URL within 30s", cmd.Path)
	}
	return nil
}

// interopLog forwards a process's standard error to the test log.
type interopLog struct {
	t   *testing.T
	buf bytes.Buffer
}

func (l *interopLog) Write(p []byte) (int, error) {
	l.buf.Write(p)
	for {
		line, err := l.buf.ReadString('\n')
		if err != nil {
			l.buf.WriteString(line)
			return len(p), nil
		}
		l.t.Logf("sp: %s", strings.TrimRight(line, "\n"))
	}
}

// metadata fetches the SP's metadata.
func (sp *interopSP) metadata(t *testing.T) []byte {
	t.Helper()
	p := newBrowser(t).get(sp.URL + "/metadata")
	if p.status != 200 {
		t.Fatalf("SP metadata: %d %s", p.status, p.body)
	}
	return []byte(p.body)
}

// login starts an SP-initiated login in b, signs in as user and returns
// the auto-POST page the IdP answers with.
func (sp *interopSP) login(t *testing.T, h *harness, b *browser, user string) page {
	t.Helper()
	loginPage := b.get(sp.URL + "/login")
	if !strings.HasPrefix(loginPage.url, h.srv.URL+"/") {
		t.Fatalf("the SP's /login did not lead to the IdP: %d %s\n%s", loginPage.status, loginPage.url, loginPage.body)
	}
	return b.signIn(h.srv.URL, loginPage, user, user+"-password")
}

// post submits the IdP's auto-POST form p to the SP's ACS, as a browser
// would, and returns the SP's verdict and HTTP status.
func (sp *interopSP) post(t *testing.T, b *browser, p page) (interopResult, int) {
	t.Helper()
	action, form := p.form()
	if action != sp.URL+"/acs" || form.Get("SAMLResponse") == "" {
		t.Fatalf("expected a SAML POST form to %s/acs, got %d:\n%s", sp.URL, p.status, p.body)
	}
	return sp.submit(t, b, form)
}

// submit posts form to the SP's ACS.
func (sp *interopSP) submit(t *testing.T, b *browser, form url.Values) (interopResult, int) {
	t.Helper()
	answer := b.post(sp.URL+"/acs", form)
	var res interopResult
	if err := json.Unmarshal([]byte(answer.body), &res); err != nil {
		t.Fatalf("the SP's ACS answered %d, not JSON: %v\n%s", answer.status, err, answer.body)
	}
	return res, answer.status
}

// interopKeyPair writes a fresh RSA key and self-signed certificate for an
// SP into dir as sp.key and sp.crt, and returns the certificate as base64
// DER for metadata.
func interopKeyPair(t *testing.T, dir string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "interop sp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "sp.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "sp.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	return base64.StdEncoding.EncodeToString(der)
}

// interopIdPCert writes the IdP's current signing certificate, as its
// metadata publishes it, to a PEM file in dir and returns the path.
func interopIdPCert(t *testing.T, h *harness, dir string) string {
	t.Helper()
	der, err := base64.StdEncoding.DecodeString(certs(h)[0])
	must(t, err)
	path := filepath.Join(dir, "idp.crt")
	must(t, os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	return path
}

// interopRun runs name with args under a deadline and returns its combined
// output.
func interopRun(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	return string(out), err
}

// interopCheckAlice checks an SP saw alice: her email as an emailAddress
// NameID, and each of groupAttrs holding one value per effective group.
func interopCheckAlice(t *testing.T, res interopResult, groupAttrs ...string) {
	t.Helper()
	if res.NameID != "alice@example.com" || res.NameIDFormat != "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" {
		t.Errorf("NameID %q (%s), want alice@example.com as emailAddress", res.NameID, res.NameIDFormat)
	}
	for _, name := range groupAttrs {
		if got := res.Attributes[name]; !slices.Equal(got, []string{"everyone", "staff"}) {
			t.Errorf("%s %q, want one value per effective group", name, got)
		}
	}
}
