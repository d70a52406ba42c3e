package oidc_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/apachetest"
)

// Apache httpd with mod_auth_openidc as a real relying party: it guards a
// page with "Require claim groups:staff", signs users in through Atrium's
// real form with PKCE, and shows the claims it accepted.

const openidcPage = "/protected/index.shtml"

type openidcRP struct {
	*apachetest.Server
	app string // its name in Atrium
}

func (rp *openidcRP) PageURL() string     { return rp.URL + openidcPage }
func (rp *openidcRP) RedirectURI() string { return rp.URL + "/protected/redirect_uri" }

// openidcStart registers a confidential client for everyone (apache,
// not Atrium, is to refuse bob here: by the groups claim) and runs apache2 with mod_auth_openidc for it until the test ends.
func openidcStart(t *testing.T, h *harness) *openidcRP {
	t.Helper()
	rp := &openidcRP{Server: apachetest.New(t, "mod_auth_openidc", "libapache2-mod-auth-openidc")}
	must(t, os.MkdirAll(filepath.Join(rp.Dir, "htdocs", "protected"), 0o755))
	must(t, os.WriteFile(filepath.Join(rp.Dir, "htdocs", openidcPage), []byte(openidcPageHTML), 0o644))
	pass := make([]byte, 16)
	rand.Read(pass)
	attempt := 0
	// Each port tried is a new redirect URI, so a new client.
	rp.Start(t, openidcConf, func(v map[string]any) {
		attempt++
		rp.app = fmt.Sprintf("apache%d", attempt)
		r := h.addClient(rp.app, directory.OIDCClient{RedirectURIs: []string{rp.RedirectURI()}}, nil, false)
		v["Issuer"], v["ClientID"], v["Secret"] = h.srv.URL, r.app.OIDC.ClientID, r.secret
		v["Passphrase"], v["RedirectURI"] = hex.EncodeToString(pass), rp.RedirectURI()
	}, nil)
	return rp
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

var openidcConf = apachetest.Config(`
LoadModule auth_openidc_module {{.Modules}}/mod_auth_openidc.so
LogLevel warn auth_openidc:info
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
`)

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
		log, err := os.ReadFile(rp.ErrorLog)
		must(t, err)
		// The refusal is apache's, after it accepted bob's tokens.
		if !strings.Contains(string(log), "could not match require claim expression 'groups:staff'") {
			t.Errorf("apache's error.log does not say the groups claim refused bob:\n%s", log)
		}
	})
}
