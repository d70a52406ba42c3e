package portal_test

import (
	"net/http"
	"net/url"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/otp"
	"github.com/atrium-dir/atrium/portal"
	"github.com/atrium-dir/atrium/signin"
)

// site is what cmd/atrium serves at ext: the sign-in pages and the
// self-service pages with sections, on the clock now (nil: time.Now).
func site(d *directory.Directory, ext *url.URL, now func() time.Time, sections ...portal.AccountSection) (*http.ServeMux, *signin.Engine) {
	e := signin.New(d, signin.Options{ExternalURL: ext, Now: now})
	otp.Register(e, d)
	p := portal.New(d, e, portal.Options{Now: now})
	for _, s := range sections {
		p.AddAccountSection(s)
	}
	mux := http.NewServeMux()
	e.Mount(mux)
	mux.Handle("/", p.Handler())
	return mux, e
}

func siteHandler(d *directory.Directory, ext *url.URL, now func() time.Time, sections ...portal.AccountSection) http.Handler {
	mux, _ := site(d, ext, now, sections...)
	return mux
}
