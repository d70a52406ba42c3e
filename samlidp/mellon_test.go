package samlidp_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/testenv"
	"github.com/atrium-dir/atrium/samlidp"
)

// Apache httpd with mod_auth_mellon as a real SAML SP: it guards a page
// with MellonCond memberOf staff and signs its AuthnRequests, and the app
// registered in Atrium from its metadata verifies them.

const (
	mellonModules = "/usr/lib/apache2/modules"
	// mellonPage is the page mellon guards; SSI shows what mellon accepted.
	mellonPage = "/protected/index.shtml"
)

// mellonSP is one running apache2 with mod_auth_mellon.
type mellonSP struct {
	URL      string // base URL, http://127.0.0.1:port
	app      directory.App
	errorLog string
}

// PageURL is the guarded page.
func (sp *mellonSP) PageURL() string { return sp.URL + mellonPage }

// ACS is mellon's assertion consumer service.
func (sp *mellonSP) ACS() string { return sp.URL + "/mellon/postResponse" }

// mellonStart runs apache2 with mod_auth_mellon until the test ends, and
// registers it as the app "mellon" in h's IdP from its metadata (email
// NameID, memberOf released).
func mellonStart(t *testing.T, h *harness) *mellonSP {
	t.Helper()
	apache := testenv.Tool(t, "/usr/sbin/apache2", "apache2")
	if _, err := os.Stat(filepath.Join(mellonModules, "mod_auth_mellon.so")); err != nil {
		testenv.Missing(t, "mod_auth_mellon is not installed (apt-get install libapache2-mod-auth-mellon)")
	}
	// Apache drops root for www-data before it serves, so everything it
	// reads at request time lives in a folder anyone can read, not in the
	// private t.TempDir.
	dir, err := os.MkdirTemp("", "atrium-mellon-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))

	certB64 := mellonKeyPair(t, dir)
	resp, err := http.Get(h.srv.URL + "/saml/metadata")
	must(t, err)
	idpMetadata, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, "idp-metadata.xml"), idpMetadata, 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "htdocs", "protected"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "htdocs", mellonPage), []byte(mellonPageHTML), 0o644))

	// The free port may be taken before apache binds it: try another.
	for attempt := 1; ; attempt++ {
		port := mellonFreePort(t)
		sp := &mellonSP{URL: fmt.Sprintf("http://127.0.0.1:%d", port), errorLog: filepath.Join(dir, "error.log")}
		metadata := mellonMetadata(sp, certB64)
		must(t, os.WriteFile(filepath.Join(dir, "sp-metadata.xml"), metadata, 0o644))
		conf := filepath.Join(dir, "apache2.conf")
		f, err := os.Create(conf)
		must(t, err)
		must(t, mellonConf.Execute(f, map[string]any{
			"Dir": dir, "Modules": mellonModules, "Port": port, "User": mellonRunAs(),
		}))
		must(t, f.Close())

		err = mellonRun(t, apache, conf, sp)
		if err == nil {
			sp.app = h.addApp(samlidp.AppSpec{Name: "mellon", Metadata: metadata, NameID: "email", Attributes: []string{"memberOf=groups"}})
			return sp
		}
		if !strings.Contains(err.Error(), "Address already in use") || attempt == 3 {
			t.Fatal(err)
		}
	}
}

// mellonRun starts apache2 with conf for sp and stops it when the test
// ends. It returns once mellon serves sp's metadata (so the port is apache's,
// not another program's), or with apache's own words if it exits first.
func mellonRun(t *testing.T, apache, conf string, sp *mellonSP) error {
	t.Helper()
	// -X: one process, in the foreground; it dies with the test binary.
	cmd := exec.Command(apache, "-f", conf, "-X")
	cmd.Dir = filepath.Dir(conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// One writer for both: exec then calls it from one goroutine at a time.
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start apache2: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		// The whole process group, so nothing apache started outlives it.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(sp.errorLog)
			return fmt.Errorf("apache2 exited at start (%v):\n%s\n%s", err, out, log)
		default:
		}
		if mellonServesMetadata(sp) {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					log, _ := os.ReadFile(sp.errorLog)
					t.Logf("apache2 output:\n%s\nerror.log:\n%s", out, log)
				}
			})
			return nil
		}
	}
	stop()
	return fmt.Errorf("apache2 did not serve %s within 20s:\n%s", sp.URL, out)
}

// mellonServesMetadata reports whether sp.URL answers with sp's metadata.
func mellonServesMetadata(sp *mellonSP) bool {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(sp.URL + "/mellon/metadata")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return err == nil && resp.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`entityID="`+sp.URL+`/mellon/metadata"`))
}

// mellonFreePort picks a loopback port for apache, which cannot be handed a
// listening socket.
func mellonFreePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// mellonRunAs is the account apache switches to when started as root (it
// refuses to serve as root), and "" otherwise.
func mellonRunAs() string {
	if os.Geteuid() != 0 {
		return ""
	}
	for _, name := range []string{"www-data", "daemon", "nobody"} {
		if _, err := user.Lookup(name); err == nil {
			return name
		}
	}
	return "nobody"
}

// mellonKeyPair writes a fresh SP key and self-signed certificate to dir and
// returns the certificate's DER in base64, for the SP metadata.
func mellonKeyPair(t *testing.T, dir string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "Atrium test SP (mod_auth_mellon)"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	must(t, err)
	// 0644: apache reads the key after it dropped root; it is a throwaway
	// key in a throwaway folder.
	must(t, os.WriteFile(filepath.Join(dir, "sp.key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "sp.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	return base64.StdEncoding.EncodeToString(der)
}

// mellonMetadata is the SP metadata mellon serves and Atrium registers:
// signed AuthnRequests, an email NameID and one HTTP-POST ACS.
func mellonMetadata(sp *mellonSP, certB64 string) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%[1]s/mellon/metadata">
  <SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>%[2]s</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </KeyDescriptor>
    <SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="%[1]s/mellon/logout"/>
    <NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</NameIDFormat>
    <AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="%[3]s" index="0" isDefault="true"/>
  </SPSSODescriptor>
</EntityDescriptor>
`, sp.URL, certB64, sp.ACS())
}

// mellonPageHTML shows, through server-side includes, the NameID and the
// memberOf values mellon accepted.
const mellonPageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Protected by mod_auth_mellon</title></head>
<body style="font-family: sans-serif; margin: 2rem">
<h1>Protected by mod_auth_mellon</h1>
<p>Signed in as <strong id="nameid"><!--#echo var="MELLON_NAME_ID" --></strong></p>
<p>memberOf: <strong id="groups"><!--#echo var="MELLON_memberOf" --></strong></p>
</body></html>
`

// mellonConf loads only what the SP needs. The mellon settings for the
// whole site make /mellon/ its endpoint; /protected/ requires a mellon
// session and membership of staff. Mellon marks the cookie it sets
// before the login SameSite=None, which browsers drop without Secure; over
// plain http, MELLON_DISABLE_SAMESITE leaves the attribute off (SetEnvIf,
// as SetEnv runs after mellon reads it). Atrium and mellon share the site
// 127.0.0.1, so the cookie comes back with the Response.
var mellonConf = template.Must(template.New("apache2.conf").Parse(`
ServerRoot "{{.Dir}}"
ServerName 127.0.0.1
Listen 127.0.0.1:{{.Port}}
LoadModule mpm_event_module {{.Modules}}/mod_mpm_event.so
LoadModule authn_core_module {{.Modules}}/mod_authn_core.so
LoadModule authz_core_module {{.Modules}}/mod_authz_core.so
LoadModule authz_user_module {{.Modules}}/mod_authz_user.so
LoadModule include_module {{.Modules}}/mod_include.so
LoadModule setenvif_module {{.Modules}}/mod_setenvif.so
LoadModule auth_mellon_module {{.Modules}}/mod_auth_mellon.so
{{with .User}}User {{.}}
Group {{.}}
{{end -}}
PidFile "{{.Dir}}/apache2.pid"
DefaultRuntimeDir "{{.Dir}}"
ErrorLog "{{.Dir}}/error.log"
LogLevel warn auth_mellon:info
DocumentRoot "{{.Dir}}/htdocs"
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
SetEnvIf Request_URI . MELLON_DISABLE_SAMESITE=1
<Directory />
    Require all granted
</Directory>
<Location />
    MellonEndpointPath /mellon
    MellonSPPrivateKeyFile "{{.Dir}}/sp.key"
    MellonSPCertFile "{{.Dir}}/sp.crt"
    MellonSPMetadataFile "{{.Dir}}/sp-metadata.xml"
    MellonIdPMetadataFile "{{.Dir}}/idp-metadata.xml"
    MellonSecureCookie Off
    MellonMergeEnvVars On ","
</Location>
<Location /protected/>
    AuthType Mellon
    MellonEnable auth
    Require valid-user
    MellonCond memberOf staff
    Options +Includes
    ForceType "text/html; charset=utf-8"
    SetOutputFilter INCLUDES
</Location>
`))

// mellonLogin signs user in at sp's guarded page with a plain HTTP client:
// the page redirects to Atrium's login, the form is posted, and the
// auto-POST page's Response goes to mellon, which answers with the page (or
// a refusal).
func mellonLogin(t *testing.T, h *harness, sp *mellonSP, user string) page {
	t.Helper()
	b := newBrowser(t)
	login := b.get(sp.PageURL())
	if !strings.HasPrefix(login.url, h.srv.URL+"/login") {
		t.Fatalf("the guarded page led to %s (%d), want Atrium's login page:\n%s", login.url, login.status, login.body)
	}
	post := b.signIn(h.srv.URL, login, user, user+"-password")
	action, form := post.form()
	if action != sp.ACS() || form.Get("SAMLResponse") == "" {
		t.Fatalf("expected a SAML POST form to %s, got %d %s:\n%s", sp.ACS(), post.status, post.url, post.body)
	}
	return b.post(action, form)
}

func TestMellon(t *testing.T) {
	h := newHarness(t)
	sp := mellonStart(t, h)

	t.Run("mellon signs its AuthnRequest and Atrium checks it", func(t *testing.T) {
		if !sp.app.VerifyRequests {
			t.Fatal("registering mellon's metadata (AuthnRequestsSigned) did not turn on request verification")
		}
		// Follow mellon's own redirects (it passes through /mellon/login)
		// up to the one that leaves for Atrium.
		var to *url.URL
		client := &http.Client{CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), h.srv.URL) {
				to = req.URL
				return http.ErrUseLastResponse
			}
			return nil
		}}
		resp, err := client.Get(sp.PageURL())
		must(t, err)
		resp.Body.Close()
		if to == nil {
			t.Fatalf("the guarded page answered %s without sending the browser to Atrium", resp.Status)
		}
		q := to.Query()
		if !strings.HasPrefix(to.String(), h.srv.URL+"/saml/sso?") || q.Get("SAMLRequest") == "" || q.Get("Signature") == "" || q.Get("SigAlg") == "" {
			t.Fatalf("mellon redirected to %s, want a signed HTTP-Redirect request to Atrium", to)
		}
		// The login below shows Atrium accepts the signature; a changed one
		// must be refused.
		tampered := *to
		at := strings.Index(to.RawQuery, "Signature=") + len("Signature=")
		swap := "A"
		if to.RawQuery[at] == 'A' {
			swap = "B"
		}
		tampered.RawQuery = to.RawQuery[:at] + swap + to.RawQuery[at+1:]
		p := newBrowser(t).get(tampered.String())
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, "signature is missing or wrong") {
			t.Errorf("a request with a changed signature got %d:\n%s", p.status, p.body)
		}
	})
	t.Run("member of staff sees the page", func(t *testing.T) {
		p := mellonLogin(t, h, sp, "alice")
		if p.status != http.StatusOK || p.url != sp.PageURL() {
			t.Fatalf("got %d at %s, want 200 at %s:\n%s", p.status, p.url, sp.PageURL(), p.body)
		}
		if want := `<strong id="nameid">alice@example.com</strong>`; !strings.Contains(p.body, want) {
			t.Errorf("page lacks %s:\n%s", want, p.body)
		}
		// memberOf carries every effective group, the nested one too.
		m := regexp.MustCompile(`<strong id="groups">([^<]*)</strong>`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("page shows no groups:\n%s", p.body)
		}
		groups := strings.Split(m[1], ",")
		slices.Sort(groups)
		if !slices.Equal(groups, []string{"everyone", "staff"}) {
			t.Errorf("mellon saw memberOf %q, want everyone and staff", m[1])
		}
	})
	t.Run("outside staff is refused by mellon", func(t *testing.T) {
		p := mellonLogin(t, h, sp, "bob")
		if p.status != http.StatusForbidden || p.url != sp.PageURL() {
			t.Fatalf("got %d at %s, want 403 at %s:\n%s", p.status, p.url, sp.PageURL(), p.body)
		}
		// The refusal is mellon's, after it accepted the assertion.
		log, err := os.ReadFile(sp.errorLog)
		must(t, err)
		if !strings.Contains(string(log), "failed to match MellonCond memberOf staff") {
			t.Errorf("apache's error.log does not say MellonCond refused bob:\n%s", log)
		}
	})
}
