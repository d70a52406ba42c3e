package web

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/atrium-dir/atrium/internal/logsafe"
)

// Page policies. Every page starts from DefaultCSP; sign-in and
// self-service pages, whose second factors run scripts, add scripts and
// calls to Atrium's own origin. No policy allows inline script.
const (
	DefaultCSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	// ScriptCSP adds scripts and fetches from Atrium's own origin (a
	// passkey prompt, waiting for a push approval).
	ScriptCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	// AppCSP adds to ScriptCSP a service worker and the web app manifest,
	// which the self-service and push pages offer.
	AppCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

// maxBody caps a form post; a signed SAML request fits comfortably.
const maxBody = 256 << 10

// pageHeaders are the headers Protect sets, their values shared by every
// response rather than allocated for each (net/http only reads them, and
// Header.Set and Add replace a value or copy it).
var pageHeaders = []struct {
	key   string
	value []string
}{
	{"Cache-Control", []string{"no-store"}},
	{"X-Content-Type-Options", []string{"nosniff"}},
	{"Referrer-Policy", []string{"same-origin"}},
	{"X-Frame-Options", []string{"DENY"}},
}

var defaultCSPValue = []string{DefaultCSP}

// Protect adds the headers every Atrium page carries, caps request bodies
// and answers a panicking request with 500 instead of taking the server
// down.
func Protect(next http.Handler, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.Error("panic in web request", "path", logsafe.Clip(r.URL.Path), "panic", logsafe.Clip(fmt.Sprint(v)))
				http.Error(w, "Something went wrong on our side.", http.StatusInternalServerError)
			}
		}()
		h := w.Header()
		for _, ph := range pageHeaders {
			h[ph.key] = ph.value
		}
		if h.Get("Content-Security-Policy") == "" {
			h["Content-Security-Policy"] = defaultCSPValue
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		next.ServeHTTP(w, r)
	})
}
