package main

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/passkey"
	"github.com/atrium-dir/atrium/portal"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// passkeys turns on passkeys at ext: the sign-in's second factor and
// enrollment, the self-service section and the /passkey/ endpoints. It
// returns nil, and says why in the log and on the self-service page, when
// browsers would refuse WebAuthn at ext.
func passkeys(d *directory.Directory, e *signin.Engine, p *portal.Portal, ext *url.URL, mux *http.ServeMux, log *slog.Logger) (*passkey.Passkeys, error) {
	keys, err := passkey.New(d, ext, passkey.Options{Now: d.Now, Logger: log})
	if errors.Is(err, passkey.ErrUnavailable) {
		log.Warn("passkeys are off: "+err.Error(), "external_url", ext.Redacted())
		p.AddAccountSection(passkey.Section{Off: err})
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	e.AddSecondFactor(keys.SecondFactor())
	e.AddEnrollment(keys.Enrollment())
	p.AddAccountSection(passkey.Section{})
	mux.Handle("/passkey/", web.Protect(passkey.NewHandler(keys, e, log), log))
	return keys, nil
}
