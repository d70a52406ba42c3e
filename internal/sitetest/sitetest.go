package sitetest

import (
	"net/http"
	"net/url"
	"regexp"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/otp"
	"github.com/atrium-dir/atrium/portal"
	"github.com/atrium-dir/atrium/signin"
)

// New returns what cmd/atrium serves at ext over d, on the clock now (nil:
// time.Now): the sign-in pages with authenticator and recovery codes, and
// the self-service pages with sections between the authenticator app's
// and the recovery codes'. Callers may mount more on the mux, and register
// more factors with the engine.
func New(d *directory.Directory, ext *url.URL, now func() time.Time, sections ...portal.AccountSection) (*http.ServeMux, *signin.Engine) {
	e := signin.New(d, signin.Options{ExternalURL: ext, Now: now})
	otp.Register(e, d)
	p := portal.New(d, e, portal.Options{Now: now})
	p.AddAccountSection(otp.AppSection{})
	for _, s := range sections {
		p.AddAccountSection(s)
	}
	p.AddAccountSection(otp.NewRecoverySection(d))
	mux := http.NewServeMux()
	e.Mount(mux)
	otp.NewSelfService(d, e, otp.Options{}).Mount(mux)
	mux.Handle("/", p.Handler())
	return mux, e
}

// Handler is New's mux, for a test that needs nothing more.
func Handler(d *directory.Directory, ext *url.URL, now func() time.Time, sections ...portal.AccountSection) http.Handler {
	mux, _ := New(d, ext, now, sections...)
	return mux
}

// SessionCookie is the session token a test browser's client holds for
// base, or "".
func SessionCookie(client *http.Client, base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	for _, c := range client.Jar.Cookies(u) {
		if c.Name == "atrium_session" {
			return c.Value
		}
	}
	return ""
}

var hidden = regexp.MustCompile(`name="(flow|csrf|step)" value="([^"]*)"`)

// FlowFields adds to form the hidden fields of the sign-in form in body:
// the flow, its CSRF token and the step.
func FlowFields(form url.Values, body string) url.Values {
	for _, m := range hidden.FindAllStringSubmatch(body, -1) {
		form.Set(m[1], m[2])
	}
	return form
}
