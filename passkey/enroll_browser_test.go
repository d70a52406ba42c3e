package passkey

import (
	"context"
	"encoding/xml"
	"errors"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/crewjam/saml"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/browser"
	"github.com/atrium-dir/atrium/portal"
	"github.com/atrium-dir/atrium/samlidp"
)

// TestEnrollPasskeyAtSignInToSAMLApp is a user without a second factor
// opening a SAML app that requires MFA, in headless Chromium with a
// virtual authenticator: after the password the enrollment offers a
// passkey beside the authenticator app; they create one, see their
// recovery codes once, and land at the app with an assertion that says
// MFA by a hardware-bound key. Screenshots of each page.
func TestEnrollPasskeyAtSignInToSAMLApp(t *testing.T) {
	s := newPKServer(t, func(s *pkServer, mux *http.ServeMux) {
		if err := samlidp.EnsureKey(s.ctx, s.dir); err != nil {
			t.Fatal(err)
		}
		mux.Handle("/saml/", portal.Protect(samlidp.New(s.dir, s.portal, s.clock.now, nil).Handler(), nil))
		s.portal.AddEnrollment(s.keys.Enrollment())
	})
	alice := s.userWithPassword(t, "alice")
	sp := pkStartSP(t, s)
	b := browser.New(t)
	authenticator := pkVirtualAuthenticator(t, b)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(b, actions...); err != nil {
			at, _ := chromedp.Run(b, chromedp.Location())
			t.Fatalf("%s: %v (the browser is at %s)", what, err, at)
		}
	}

	step("open the app and sign in with the password",
		chromedp.Navigate(sp.url+"/start"),
		chromedp.WaitVisible(chromedp.ID("username")),
		chromedp.SendKeys(chromedp.ID("username"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "correct horse"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`code.secret`)),
	)
	browser.Screenshot(t, b, "enroll-choice")
	step("choose a passkey",
		chromedp.Click(chromedp.CSS(`nav.choices a[href*="kind=passkey"]`)),
		chromedp.WaitVisible(chromedp.CSS(`[data-passkey-enroll] [data-passkey-start]`)),
	)
	browser.Screenshot(t, b, "enroll-passkey")
	if factors, err := s.dir.Factors(s.ctx, alice.ID); err != nil || len(factors) != 0 {
		t.Fatalf("factors before the passkey: %v, %v", factors, err)
	}
	step("create the passkey",
		chromedp.SendKeys(chromedp.ID("passkey-name"), "Laptop"),
		chromedp.Click(chromedp.CSS(`[data-passkey-start]`)),
		chromedp.WaitVisible(chromedp.CSS(`ul.codes`)),
	)
	browser.Screenshot(t, b, "recovery-codes")
	if sess, ok := pkSessionFromCookies(t, b, s); ok {
		t.Fatalf("a session began before the recovery codes were seen: %+v", sess)
	}
	step("continue to the app",
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.ID("wiki")),
	)
	browser.Screenshot(t, b, "landing")

	got := sp.landing(t, b)
	if got.nameID != "alice@example.com" || got.class != "https://refeds.org/profile/mfa" ||
		!slices.Contains(got.amr, MethodHWK) || !slices.Contains(got.amr, "mfa") || !slices.Contains(got.amr, "pwd") {
		t.Errorf("the app received NameID %q, class %q, amr %v; want alice's, the MFA class and pwd, hwk, mfa", got.nameID, got.class, got.amr)
	}
	factors, err := s.dir.Factors(s.ctx, alice.ID)
	if err != nil || len(factors) != 1 || factors[0].Kind != directory.FactorPasskey || factors[0].Name != "Laptop" {
		t.Errorf("factors %+v, %v; want the passkey Laptop", factors, err)
	}
	if left, err := s.dir.RecoveryCodesLeft(s.ctx, alice.ID); err != nil || left != directory.RecoveryCodeCount {
		t.Errorf("recovery codes left: %d, %v", left, err)
	}
	held, err := chromedp.Call(b, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authenticator})
	if err != nil || len(held.Credentials) != 1 {
		t.Errorf("credentials in the authenticator: %v, %v", held, err)
	}
}

// pkSP is a SAML app for browser tests: crewjam's ServiceProvider on
// loopback, registered with the server as "wiki" requiring MFA. /start
// sends the browser to Atrium with an AuthnRequest; /acs checks the
// Response and shows what the assertion says.
type pkSP struct {
	url string
	sp  *saml.ServiceProvider
	mu  sync.Mutex
	ids []string // AuthnRequest IDs sent
}

func pkStartSP(t *testing.T, s *pkServer) *pkSP {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	app := &pkSP{url: "http://" + srv.Listener.Addr().String()}
	resp, err := http.Get(s.url + "/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var idp saml.EntityDescriptor
	if err := xml.Unmarshal(raw, &idp); err != nil {
		t.Fatalf("IdP metadata: %v", err)
	}
	acs, _ := url.Parse(app.url + "/acs")
	app.sp = &saml.ServiceProvider{EntityID: app.url, AcsURL: *acs, IDPMetadata: &idp, AuthnNameIDFormat: saml.EmailAddressNameIDFormat}
	if _, err := samlidp.Register(s.ctx, s.dir, samlidp.AppSpec{Name: "wiki", EntityID: app.url, ACS: acs.String(), RequireMFA: true}); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", app.start)
	mux.HandleFunc("POST /acs", app.acs)
	srv.Config.Handler = mux
	srv.Start()
	return app
}

func (a *pkSP) start(w http.ResponseWriter, r *http.Request) {
	req, err := a.sp.MakeAuthenticationRequest(a.sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	to, err := req.Redirect("", a.sp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a.mu.Lock()
	a.ids = append(a.ids, req.ID)
	a.mu.Unlock()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

// pkLandingPage shows the app's verdict on the Response: the refusal, or
// what the assertion says.
var pkLandingPage = template.Must(template.New("").Parse(`<!doctype html>
<html><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>Wiki</title></head>
<body><main id="wiki"><h1>Wiki</h1>
<p>Refused: <span id="error">{{.Error}}</span></p>
<p>Signed in as <span id="nameid">{{.NameID}}</span></p>
<p>amr: <span id="amr">{{.AMR}}</span></p>
<p>AuthnContextClassRef: <span id="class">{{.Class}}</span></p>
</main></body></html>`))

func (a *pkSP) acs(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	ids := slices.Clone(a.ids)
	a.mu.Unlock()
	var page struct{ Error, NameID, AMR, Class string }
	err := r.ParseForm()
	var assertion *saml.Assertion
	if err == nil {
		assertion, err = a.sp.ParseResponse(r, ids)
	}
	var invalid *saml.InvalidResponseError
	switch {
	case errors.As(err, &invalid):
		page.Error = invalid.PrivateErr.Error()
	case err != nil:
		page.Error = err.Error()
	default:
		var amr []string
		for _, st := range assertion.AttributeStatements {
			for _, at := range st.Attributes {
				for _, v := range at.Values {
					if at.Name == "amr" {
						amr = append(amr, v.Value)
					}
				}
			}
		}
		page.AMR = strings.Join(amr, ",")
		if st := assertion.AuthnStatements; len(st) > 0 && st[0].AuthnContext.AuthnContextClassRef != nil {
			page.Class = st[0].AuthnContext.AuthnContextClassRef.Value
		}
		if assertion.Subject != nil && assertion.Subject.NameID != nil {
			page.NameID = assertion.Subject.NameID.Value
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	pkLandingPage.Execute(w, page)
}

// pkLanding is what the app's landing page shows of the assertion.
type pkLanding struct {
	nameID, class string
	amr           []string
}

// landing reads the app's page in the browser b.
func (a *pkSP) landing(t *testing.T, b context.Context) pkLanding {
	t.Helper()
	text := func(id string) string {
		t.Helper()
		v, err := chromedp.Run(b, chromedp.Text(chromedp.ID(id)))
		if err != nil {
			t.Fatalf("the app's page: %s: %v", id, err)
		}
		return v
	}
	if refused := text("error"); refused != "" {
		t.Fatalf("the app refused the response: %s", refused)
	}
	return pkLanding{nameID: text("nameid"), class: text("class"), amr: strings.Split(text("amr"), ",")}
}
