package oidc_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/testenv"
)

// Apache httpd with mod_auth_openidc as a real relying party: it guards a
// page with "Require claim groups:staff", signs users in through Atrium's
// real form with PKCE, and shows the claims it accepted.

const (
	openidcModules = "/usr/lib/apache2/modules"
	openidcPage    = "/protected/index.shtml"
)

type openidcRP struct {
	URL      string // http://127.0.0.1:port
	app      string // its name in Atrium
	errorLog string
}

func (rp *openidcRP) PageURL() string     { return rp.URL + openidcPage }
func (rp *openidcRP) RedirectURI() string { return rp.URL + "/protected/redirect_uri" }

// openidcStart registers a confidential client for everyone (apache,
// not Atrium, is to refuse bob here: by the groups claim) and runs apache2 with mod_auth_openidc for it until the test ends.
func openidcStart(t *testing.T, h *harness) *openidcRP {
	t.Helper()
	apache := testenv.Tool(t, "/usr/sbin/apache2", "apache2")
	if _, err := os.Stat(filepath.Join(openidcModules, "mod_auth_openidc.so")); err != nil {
		testenv.Missing(t, "mod_auth_openidc is not installed (apt-get install libapache2-mod-auth-openidc)")
	}
	// Apache drops root for www-data before it serves: its files live in a
	// folder anyone can read.
	dir, err := os.MkdirTemp("", "atrium-openidc-")
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, "htdocs", "protected"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "htdocs", openidcPage), []byte(openidcPageHTML), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "htdocs", "ping.txt"), []byte("atrium-openidc\n"), 0o644))
	pass := make([]byte, 16)
	rand.Read(pass)

	for attempt := 1; ; attempt++ {
		port := freePort(t)
		name := fmt.Sprintf("apache%d", attempt)
		rp := &openidcRP{URL: fmt.Sprintf("http://127.0.0.1:%d", port), app: name, errorLog: filepath.Join(dir, "error.log")}
		r := h.addClient(name, directory.OIDCClient{RedirectURIs: []string{rp.RedirectURI()}}, nil, false)
		conf := filepath.Join(dir, "apache2.conf")
		f, err := os.Create(conf)
		must(t, err)
		must(t, openidcConf.Execute(f, map[string]any{
			"Dir": dir, "Modules": openidcModules, "Port": port, "User": runAs(),
			"Issuer": h.srv.URL, "ClientID": r.app.OIDC.ClientID, "Secret": r.secret, "Passphrase": hex.EncodeToString(pass), "RedirectURI": rp.RedirectURI(),
		}))
		must(t, f.Close())
		err = runApache(t, apache, conf, rp)
		if err == nil {
			return rp
		}
		if !strings.Contains(err.Error(), "Address already in use") || attempt == 3 {
			t.Fatal(err)
		}
	}
}

// runApache starts apache2 with conf and stops it when the test ends. It
// returns once apache answers on rp.URL, or with apache's words if it
// exits first.
func runApache(t *testing.T, apache, conf string, rp *openidcRP) error {
	t.Helper()
	cmd := exec.Command(apache, "-f", conf, "-X")
	cmd.Dir = filepath.Dir(conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start apache2: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	client := &http.Client{Timeout: 2 * time.Second}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(rp.errorLog)
			return fmt.Errorf("apache2 exited at start (%v):\n%s\n%s", err, out, log)
		default:
		}
		resp, err := client.Get(rp.URL + "/ping.txt")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) == "atrium-openidc\n" {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					log, _ := os.ReadFile(rp.errorLog)
					t.Logf("apache2 output:\n%s\nerror.log:\n%s", out, log)
				}
			})
			return nil
		}
	}
	stop()
	return fmt.Errorf("apache2 did not serve %s within 20s:\n%s", rp.URL, out)
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// runAs is the account apache switches to when started as root.
func runAs() string {
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

// openidcPageHTML shows, through server-side includes, whom
// mod_auth_openidc admitted and the groups claim it accepted.
const openidcPageHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Protected by mod_auth_openidc</title></head>
<body>
<p>Signed in as <strong id="user"><!--#echo var="REMOTE_USER" --></strong></p>
<p>groups: <strong id="groups"><!--#echo var="OIDC_CLAIM_groups" --></strong></p>
</body></html>
`

var openidcConf = template.Must(template.New("apache2.conf").Parse(`
ServerRoot "{{.Dir}}"
ServerName 127.0.0.1
Listen 127.0.0.1:{{.Port}}
LoadModule mpm_event_module {{.Modules}}/mod_mpm_event.so
LoadModule authn_core_module {{.Modules}}/mod_authn_core.so
LoadModule authz_core_module {{.Modules}}/mod_authz_core.so
LoadModule authz_user_module {{.Modules}}/mod_authz_user.so
LoadModule include_module {{.Modules}}/mod_include.so
LoadModule auth_openidc_module {{.Modules}}/mod_auth_openidc.so
{{with .User}}User {{.}}
Group {{.}}
{{end -}}
PidFile "{{.Dir}}/apache2.pid"
DefaultRuntimeDir "{{.Dir}}"
ErrorLog "{{.Dir}}/error.log"
LogLevel warn auth_openidc:info
DocumentRoot "{{.Dir}}/htdocs"
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
<Directory />
    Require all granted
</Directory>
OIDCProviderMetadataURL {{.Issuer}}/.well-known/openid-configuration
OIDCClientID {{.ClientID}}
OIDCClientSecret {{.Secret}}
OIDCRedirectURI {{.RedirectURI}}
OIDCCryptoPassphrase {{.Passphrase}}
OIDCScope "openid email profile groups"
OIDCPKCEMethod S256
OIDCRemoteUserClaim preferred_username
OIDCClaimDelimiter ","
<Location /protected/>
    AuthType openid-connect
    Require claim groups:staff
    Options +Includes
    ForceType "text/html; charset=utf-8"
    SetOutputFilter INCLUDES
</Location>
`))

// openidcLogin opens the guarded page as user: mod_auth_openidc sends the
// browser to Atrium, the form is posted, and the code goes back to apache,
// which exchanges it and answers with the page (or a refusal).
func openidcLogin(t *testing.T, h *harness, rp *openidcRP, user string) page {
	t.Helper()
	b := newBrowser(t)
	login := b.get(rp.PageURL())
	if !strings.HasPrefix(login.url, h.srv.URL+"/login") {
		t.Fatalf("the guarded page led to %s (%d), want Atrium's login page:\n%s", login.url, login.status, login.body)
	}
	return b.signIn(h.srv.URL, login, user)
}

func TestModAuthOpenIDC(t *testing.T) {
	h := newHarness(t)
	rp := openidcStart(t, h)
	t.Run("alice, in staff, is admitted with her groups", func(t *testing.T) {
		p := openidcLogin(t, h, rp, "alice")
		if p.status != http.StatusOK || p.url != rp.PageURL() {
			t.Fatalf("got %d at %s, want 200 at %s:\n%s", p.status, p.url, rp.PageURL(), p.body)
		}
		for _, want := range []*regexp.Regexp{regexp.MustCompile(`<strong id="user">alice</strong>`), regexp.MustCompile(`<strong id="groups">everyone,staff</strong>`)} {
			if !want.MatchString(p.body) {
				t.Errorf("page lacks %s:\n%s", want, p.body)
			}
		}
	})
	t.Run("bob is refused", func(t *testing.T) {
		p := openidcLogin(t, h, rp, "bob")
		if p.status != http.StatusForbidden && p.status != http.StatusUnauthorized || strings.Contains(p.body, `id="user"`) {
			t.Fatalf("bob got %d at %s:\n%s", p.status, p.url, p.body)
		}
		log, err := os.ReadFile(rp.errorLog)
		must(t, err)
		// The refusal is apache's, after it accepted bob's tokens.
		if !strings.Contains(string(log), "could not match require claim expression 'groups:staff'") {
			t.Errorf("apache's error.log does not say the groups claim refused bob:\n%s", log)
		}
	})
}
