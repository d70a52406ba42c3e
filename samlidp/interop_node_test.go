package samlidp_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/atrium-dir/atrium/internal/testenv"
	"github.com/atrium-dir/atrium/samlidp"
)

// interopNodeModules installs testdata/node-saml's locked dependencies
// with npm ci, once per lock file, into the user's cache directory, and
// returns the node_modules path. The install goes to a temporary directory
// renamed into place, so concurrent test runs never see half of it.
func interopNodeModules(t *testing.T) string {
	t.Helper()
	npm := testenv.Tool(t, "npm", "npm")
	const src = "testdata/node-saml"
	sum := sha256.New()
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		must(t, err)
		sum.Write(b)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = t.TempDir()
	}
	root := filepath.Join(cache, "atrium-test")
	dir := filepath.Join(root, "node-saml-"+hex.EncodeToString(sum.Sum(nil))[:16])
	modules := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "@node-saml", "node-saml", "package.json")); err == nil {
		return modules
	}
	must(t, os.MkdirAll(root, 0o755))
	tmp, err := os.MkdirTemp(root, "install-")
	must(t, err)
	defer os.RemoveAll(tmp)
	for _, name := range []string{"package.json", "package-lock.json"} {
		b, _ := os.ReadFile(filepath.Join(src, name))
		must(t, os.WriteFile(filepath.Join(tmp, name), b, 0o644))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		testenv.Missing(t, "npm ci for @node-saml/node-saml failed (is the npm registry reachable?): "+err.Error()+"\n"+string(out))
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		// Another run may have installed it first; that copy is as good.
		if _, statErr := os.Stat(modules); statErr != nil {
			t.Fatalf("install node-saml: %v", err)
		}
	}
	return modules
}

// interopNodeSP starts testdata/node-saml/sp.js for the harness's IdP,
// with env added to its environment.
func interopNodeSP(t *testing.T, h *harness, env ...string) *interopSP {
	t.Helper()
	node := testenv.Tool(t, "node", "nodejs")
	modules := interopNodeModules(t)
	args := append([]string{"testdata/node-saml/sp.js", h.srv.URL + "/saml/sso", h.idp.EntityID()}, certs(h)...)
	cmd := exec.Command(node, args...)
	cmd.Env = append(append(os.Environ(), "NODE_PATH="+modules), env...)
	return interopStartSP(t, cmd)
}

// TestNodeSAML completes a login into an @node-saml/node-saml SP that wants
// the Response and the Assertion signed and validates InResponseTo
// "always"; the same response posted again is refused as a replay.
func TestNodeSAML(t *testing.T) {
	h := newHarness(t)
	sp := interopNodeSP(t, h)
	app := h.addApp(samlidp.AppSpec{Name: "node", Preset: "cloudflare", Metadata: sp.metadata(t), Groups: []string{"everyone"}})
	if app.EntityID != sp.URL+"/metadata" || app.ACS[0].URL != sp.URL+"/acs" {
		t.Fatalf("registered from the SP's metadata as %s with ACS %+v", app.EntityID, app.ACS)
	}

	b := newBrowser(t)
	posted := sp.login(t, h, b, "alice")
	res, status := sp.post(t, b, posted)
	if status != 200 || res.Error != "" {
		t.Fatalf("the SP refused the response (%d): %s", status, res.Error)
	}
	interopCheckAlice(t, res, "groups", "memberOf")

	replay, status := sp.post(t, b, posted)
	if status != 403 || !strings.Contains(replay.Error, "InResponseTo") {
		t.Errorf("a replayed response was not refused as one (%d): %+v", status, replay)
	}

	// The same SP refuses a response whose groups were changed in transit,
	// so the acceptance above means the signatures were checked.
	_, tampered := sp.login(t, h, newBrowser(t), "alice").form()
	raw, err := base64.StdEncoding.DecodeString(tampered.Get("SAMLResponse"))
	must(t, err)
	tampered.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte(strings.ReplaceAll(string(raw), ">staff<", ">admins<"))))
	if forged, status := sp.submit(t, b, tampered); status != 403 || !strings.Contains(forged.Error, "ignature") {
		t.Errorf("a tampered response was not refused for its signature (%d): %+v", status, forged)
	}
}

// TestNodeSAMLSignedRequests: node-saml signs its AuthnRequests, over
// HTTP-Redirect (detached SigAlg/Signature) and HTTP-POST (enveloped XML
// signature, deflated by default); its metadata says so, so the app is registered with request
// verification, and both bindings complete a login. A request changed in
// transit is refused.
func TestNodeSAMLSignedRequests(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	interopKeyPair(t, dir)
	sp := interopNodeSP(t, h, "SP_KEY="+filepath.Join(dir, "sp.key"), "SP_CERT="+filepath.Join(dir, "sp.crt"))
	app := h.addApp(samlidp.AppSpec{Name: "node-signed", Metadata: sp.metadata(t)})
	if !app.VerifyRequests || len(app.SigningCerts) != 1 {
		t.Fatalf("app registered without request verification: %+v", app)
	}

	t.Run("redirect", func(t *testing.T) {
		b := newBrowser(t)
		res, status := sp.post(t, b, sp.login(t, h, b, "alice"))
		if status != 200 || res.Error != "" {
			t.Fatalf("the SP refused the response (%d): %s", status, res.Error)
		}
		interopCheckAlice(t, res, "groups")
	})
	t.Run("post", func(t *testing.T) {
		b := newBrowser(t)
		form := b.get(sp.URL + "/login-post")
		action, fields := interopNodeForm(form)
		if action != h.srv.URL+"/saml/sso" || fields.Get("SAMLRequest") == "" {
			t.Fatalf("node-saml's POST form: %d\n%s", form.status, form.body)
		}
		// node-saml deflates POST requests too, which Atrium tolerates.
		deflated, _ := base64.StdEncoding.DecodeString(fields.Get("SAMLRequest"))
		if raw, err := io.ReadAll(flate.NewReader(bytes.NewReader(deflated))); err != nil || !strings.Contains(string(raw), "SignatureValue") {
			t.Fatalf("node-saml did not sign its POST request (%v):\n%s", err, raw)
		}
		login := b.post(action, fields)
		res, status := sp.post(t, b, b.signIn(h.srv.URL, login, "alice", "alice-password"))
		if status != 200 || res.Error != "" {
			t.Fatalf("the SP refused the response (%d): %s", status, res.Error)
		}
		interopCheckAlice(t, res, "groups")
	})
	t.Run("tampered redirect", func(t *testing.T) {
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := noFollow.Get(sp.URL + "/login")
		must(t, err)
		resp.Body.Close()
		u, err := url.Parse(resp.Header.Get("Location"))
		must(t, err)
		if u.Query().Get("Signature") == "" {
			t.Fatalf("node-saml did not sign its redirect: %s", u)
		}
		q := u.Query()
		q.Set("RelayState", "changed")
		u.RawQuery = q.Encode()
		p := newBrowser(t).get(u.String())
		if strings.Contains(p.body, `name="password"`) || errorStatus(t, p) != saml.StatusRequestDenied {
			t.Errorf("a tampered signed request was not refused: %d\n%s", p.status, p.body)
		}
	})
}

var (
	interopNodeInputRE  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)" />`)
	interopNodeActionRE = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
)

// interopNodeForm reads the action and hidden fields of node-saml's
// auto-submitting AuthnRequest form.
func interopNodeForm(p page) (string, url.Values) {
	v := url.Values{}
	for _, m := range interopNodeInputRE.FindAllStringSubmatch(p.body, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	action := ""
	if m := interopNodeActionRE.FindStringSubmatch(p.body); m != nil {
		action = html.UnescapeString(m[1])
	}
	return action, v
}

// TestNodeSAMLEncrypted: node-saml decrypts an assertion encrypted to the
// certificate its metadata offers.
func TestNodeSAMLEncrypted(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	interopKeyPair(t, dir)
	sp := interopNodeSP(t, h, "SP_DECRYPT_KEY="+filepath.Join(dir, "sp.key"), "SP_DECRYPT_CERT="+filepath.Join(dir, "sp.crt"))
	app := h.addApp(samlidp.AppSpec{Name: "node-encrypted", Metadata: sp.metadata(t), Encrypt: true})
	if !app.Encrypt || app.EncryptionCert == "" {
		t.Fatalf("app registered without encryption: %+v", app)
	}
	b := newBrowser(t)
	posted := sp.login(t, h, b, "alice")
	if raw, _ := samlResponse(t, posted, sp.URL+"/acs"); !bytes.Contains(raw, []byte("EncryptedAssertion")) || bytes.Contains(raw, []byte("alice")) {
		t.Fatalf("the assertion is not (only) sent encrypted:\n%s", raw)
	}
	res, status := sp.post(t, b, posted)
	if status != 200 || res.Error != "" {
		t.Fatalf("the SP refused the response (%d): %s", status, res.Error)
	}
	interopCheckAlice(t, res, "groups")
}
