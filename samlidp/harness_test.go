package samlidp_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/xml"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/dirtest"
	"github.com/atrium-dir/atrium/internal/sitetest"
	"github.com/atrium-dir/atrium/internal/testenv"
	"github.com/atrium-dir/atrium/samlidp"
	"github.com/atrium-dir/atrium/web"
)

// The fixture: alice (staff, and through staff also everyone), bob
// (contractors), carol (staff, disabled). Passwords are "<uid>-password".
const cloudflareACS = "https://example-team.cloudflareaccess.com/cdn-cgi/access/callback"

type harness struct {
	t     *testing.T
	dir   *directory.Directory
	srv   *httptest.Server
	clock *dirtest.OffsetClock
	idp   *samlidp.IdP
	logs  testenv.Output // the IdP's log
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	ctx := context.Background()
	h := &harness{t: t, clock: &dirtest.OffsetClock{}}
	// crewjam's SP dates its requests and checks responses with
	// saml.TimeNow; tie it to the IdP's clock for this test.
	saml.TimeNow = h.clock.Now
	t.Cleanup(func() { saml.TimeNow = time.Now })
	h.dir = dirtest.New(t, h.clock.Now)
	must(t, samlidp.EnsureKey(ctx, h.dir))
	dirtest.AddPeople(t, h.dir)
	_, err := h.dir.SetDisabled(ctx, "carol", true)
	must(t, err)

	// The portal needs the server's URL: listen first, and serve only once
	// the handler is set, since outside SPs may call in at once.
	h.srv = httptest.NewUnstartedServer(nil)
	t.Cleanup(h.srv.Close)
	ext, _ := url.Parse("http://" + h.srv.Listener.Addr().String())
	mux, e := sitetest.New(h.dir, ext, h.clock.Now)
	h.idp = samlidp.New(h.dir, e, samlidp.Options{Now: h.clock.Now, Logger: slog.New(slog.NewTextHandler(&h.logs, nil))})
	mux.Handle("/saml/", web.Protect(h.idp.Handler(), nil))
	h.srv.Config.Handler = mux
	h.srv.Start()
	return h
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (h *harness) addApp(spec samlidp.AppSpec) directory.App {
	h.t.Helper()
	app, err := samlidp.Register(context.Background(), h.dir, spec)
	must(h.t, err)
	return app
}

// metadata fetches the IdP metadata over HTTP.
func (h *harness) metadata() *saml.EntityDescriptor {
	h.t.Helper()
	resp, err := http.Get(h.srv.URL + "/saml/metadata")
	must(h.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var ed saml.EntityDescriptor
	must(h.t, xml.Unmarshal(raw, &ed))
	return &ed
}

// sp is an independent SAML SP (crewjam's ServiceProvider) for entityID
// and acs that trusts the IdP's metadata.
func (h *harness) sp(entityID, acs string) *saml.ServiceProvider {
	a, _ := url.Parse(acs)
	return &saml.ServiceProvider{EntityID: entityID, AcsURL: *a, IDPMetadata: h.metadata(), AuthnNameIDFormat: saml.EmailAddressNameIDFormat}
}

// browser is a cookie-keeping HTTP client.
type browser struct {
	t      *testing.T
	client *http.Client
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, client: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

type page struct {
	status int
	url    string
	body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	must(b.t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, url: resp.Request.URL.String(), body: string(body)}
}

func (b *browser) get(u string) page {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) page {
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	inputRE  = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form[^>]* action="([^"]*)"`)
)

// form returns the hidden fields and action of the first form on p.
func (p page) form() (string, url.Values) {
	v := url.Values{}
	for _, m := range inputRE.FindAllStringSubmatch(p.body, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	action := ""
	if m := actionRE.FindStringSubmatch(p.body); m != nil {
		action = html.UnescapeString(m[1])
	}
	return action, v
}

// signIn fills the login page p with user and password and submits it.
func (b *browser) signIn(base string, p page, user, pw string) page {
	b.t.Helper()
	if !strings.Contains(p.body, `name="password"`) {
		b.t.Fatalf("expected the login page, got %d %s:\n%s", p.status, p.url, p.body)
	}
	_, form := p.form()
	form.Set("username", user)
	form.Set("password", pw)
	return b.post(base+"/login", form)
}

// samlResponse extracts the Response and RelayState from the auto-POST
// page p, checking it posts to acs.
func samlResponse(t *testing.T, p page, acs string) ([]byte, string) {
	t.Helper()
	action, form := p.form()
	if action != acs || form.Get("SAMLResponse") == "" {
		t.Fatalf("expected a SAML POST form to %s, got %d:\n%s", acs, p.status, p.body)
	}
	raw, err := base64.StdEncoding.DecodeString(form.Get("SAMLResponse"))
	must(t, err)
	return raw, form.Get("RelayState")
}

// redirectRequest builds an HTTP-Redirect SSO URL carrying xmlReq as is,
// for tests that need requests an SP library would not make.
func redirectRequest(base string, xmlReq []byte, relayState string) string {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(xmlReq)
	w.Close()
	q := url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}}
	if relayState != "" {
		q.Set("RelayState", relayState)
	}
	return base + "/saml/sso?" + q.Encode()
}
