package samltest

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/crewjam/saml"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/samlidp"
)

// App is a SAML app on loopback. Navigating to StartURL sends the browser
// to Atrium with an AuthnRequest; the app checks the Response at its ACS
// and shows the verdict on a page whose <main> has the id "app".
type App struct {
	URL string
	sp  *saml.ServiceProvider
	mu  sync.Mutex
	ids []string // AuthnRequest IDs sent
}

// Start serves an app, reads the IdP's metadata from idpBase, and
// registers the app with d as spec (its entity ID and ACS filled in).
func Start(t testing.TB, d *directory.Directory, idpBase string, spec samlidp.AppSpec) *App {
	t.Helper()
	app := New(t)
	resp, err := http.Get(idpBase + "/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := app.UseIdP(raw); err != nil {
		t.Fatal(err)
	}
	spec.EntityID, spec.ACS = app.URL, app.URL+"/acs"
	if _, err := samlidp.Register(context.Background(), d, spec); err != nil {
		t.Fatal(err)
	}
	return app
}

// New serves an app that knows no IdP yet: a test registers it from
// Metadata, as an admin would, and gives it the IdP's metadata with UseIdP.
func New(t testing.TB) *App {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	t.Cleanup(srv.Close)
	app := &App{URL: "http://" + srv.Listener.Addr().String()}
	acs, _ := url.Parse(app.URL + "/acs")
	app.sp = &saml.ServiceProvider{EntityID: app.URL, AcsURL: *acs, AuthnNameIDFormat: saml.EmailAddressNameIDFormat}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /start", app.start)
	mux.HandleFunc("POST /acs", app.acs)
	srv.Config.Handler = mux
	srv.Start()
	return app
}

// Metadata is the app's SP metadata, as an admin uploads it to the IdP.
func (a *App) Metadata() ([]byte, error) {
	return xml.MarshalIndent(a.provider().Metadata(), "", "  ")
}

// UseIdP makes the app trust the IdP whose metadata is raw.
func (a *App) UseIdP(raw []byte) error {
	var idp saml.EntityDescriptor
	if err := xml.Unmarshal(raw, &idp); err != nil {
		return fmt.Errorf("IdP metadata: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	sp := *a.sp
	sp.IDPMetadata = &idp
	a.sp = &sp
	return nil
}

// StartURL begins an SP-initiated sign-in.
func (a *App) StartURL() string { return a.URL + "/start" }

// provider is the app's ServiceProvider as UseIdP last set it.
func (a *App) provider() *saml.ServiceProvider {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sp
}

func (a *App) start(w http.ResponseWriter, r *http.Request) {
	sp := a.provider()
	req, err := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(saml.HTTPRedirectBinding), saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	to, err := req.Redirect("", sp)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a.mu.Lock()
	a.ids = append(a.ids, req.ID)
	a.mu.Unlock()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

var landingPage = template.Must(template.New("").Parse(`<!doctype html>
<html><head><meta name="viewport" content="width=device-width, initial-scale=1"><title>Wiki</title></head>
<body><main id="app"><h1>Wiki</h1>
<p>Refused: <span id="error">{{.Error}}</span></p>
<p>Signed in as <span id="nameid">{{.NameID}}</span></p>
<p>amr: <span id="amr">{{.AMR}}</span></p>
<p>groups: <span id="groups">{{.Groups}}</span></p>
<p>AuthnContextClassRef: <span id="class">{{.Class}}</span></p>
</main></body></html>`))

func (a *App) acs(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	ids := slices.Clone(a.ids)
	a.mu.Unlock()
	var page struct{ Error, NameID, AMR, Class, Groups string }
	err := r.ParseForm()
	var assertion *saml.Assertion
	if err == nil {
		assertion, err = a.provider().ParseResponse(r, ids)
	}
	var invalid *saml.InvalidResponseError
	switch {
	case errors.As(err, &invalid):
		page.Error = invalid.PrivateErr.Error()
	case err != nil:
		page.Error = err.Error()
	default:
		page.AMR = strings.Join(values(assertion, "amr"), ",")
		page.Groups = strings.Join(values(assertion, "groups"), ",")
		if st := assertion.AuthnStatements; len(st) > 0 && st[0].AuthnContext.AuthnContextClassRef != nil {
			page.Class = st[0].AuthnContext.AuthnContextClassRef.Value
		}
		if assertion.Subject != nil && assertion.Subject.NameID != nil {
			page.NameID = assertion.Subject.NameID.Value
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	landingPage.Execute(w, page)
}

// values are the values of the assertion's attribute name.
func values(assertion *saml.Assertion, name string) []string {
	var out []string
	for _, st := range assertion.AttributeStatements {
		for _, at := range st.Attributes {
			if at.Name != name {
				continue
			}
			for _, v := range at.Values {
				out = append(out, v.Value)
			}
		}
	}
	return out
}

// Landing is what the app's landing page says of the assertion.
type Landing struct {
	NameID, Class string
	AMR, Groups   []string
}

// ReadLanding reads the app's landing page in the browser ctx, failing the
// test if the app refused the Response.
func ReadLanding(t testing.TB, ctx context.Context) Landing {
	t.Helper()
	text := func(id string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID(id)))
		if err != nil {
			t.Fatalf("the app's page: %s: %v", id, err)
		}
		return v
	}
	if refused := text("error"); refused != "" {
		t.Fatalf("the app refused the response: %s", refused)
	}
	return Landing{NameID: text("nameid"), Class: text("class"), AMR: strings.Split(text("amr"), ","), Groups: strings.Split(text("groups"), ",")}
}
