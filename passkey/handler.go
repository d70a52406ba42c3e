package passkey

import (
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// Accounts finds the signed-in user of a request and checks its CSRF token
// (header X-CSRF-Token); on false it has answered the request. The sign-in
// implements it.
type Accounts interface {
	Account(w http.ResponseWriter, r *http.Request) (signin.Account, bool)
	// AccountChange also needs a recent sign-in, as adding a way in does.
	AccountChange(w http.ResponseWriter, r *http.Request) (signin.Account, bool)
}

var _ Accounts = (*signin.Engine)(nil)

// Handler serves the passkey endpoints under /passkey/: the browser script
// and the JSON calls that register a passkey for the signed-in user.
type Handler struct {
	keys     *Passkeys
	accounts Accounts
	log      *slog.Logger
	mux      *http.ServeMux
}

// NewHandler returns the endpoints for keys, with accounts telling who is
// signed in.
func NewHandler(keys *Passkeys, accounts Accounts, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{keys: keys, accounts: accounts, log: log, mux: http.NewServeMux()}
	h.mux.Handle("GET "+ScriptPath, http.StripPrefix("/passkey/", http.FileServerFS(must(fs.Sub(files, "web")))))
	h.mux.HandleFunc("POST "+registerBeginPath, h.registerBegin)
	h.mux.HandleFunc("POST "+registerFinishPath, h.registerFinish)
	return h
}

// Paths of the endpoints.
const (
	ScriptPath         = "/passkey/passkey.js"
	registerBeginPath  = "/passkey/register/begin"
	registerFinishPath = "/passkey/register/finish"
)

//go:embed web
var files embed.FS

// ServeHTTP routes /passkey/ requests.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

func (h *Handler) registerBegin(w http.ResponseWriter, r *http.Request) {
	a, ok := h.accounts.AccountChange(w, r)
	if !ok {
		return
	}
	c, err := h.keys.BeginRegistration(r.Context(), a.User.ID, a.Session.ID)
	if err != nil {
		h.fail(w, "begin registration", err)
		return
	}
	web.JSON(w, http.StatusOK, c)
}

// finishRequest is the body of a registration's finish call.
type finishRequest struct {
	Ceremony   string          `json:"ceremony"`
	Name       string          `json:"name"`
	Credential json.RawMessage `json:"credential"`
}

func (h *Handler) registerFinish(w http.ResponseWriter, r *http.Request) {
	a, ok := h.accounts.Account(w, r)
	if !ok {
		return
	}
	var req finishRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		web.JSON(w, http.StatusBadRequest, errorBody{"The request could not be read."})
		return
	}
	f, err := h.keys.FinishRegistration(r.Context(), a.User.ID, a.Session.ID, req.Ceremony, req.Name, req.Credential)
	if err != nil {
		h.fail(w, "finish registration", err)
		return
	}
	// The first second factor comes with recovery codes, as an
	// authenticator app's does: the page asks for them to be shown.
	left, err := h.keys.dir.RecoveryCodesLeft(r.Context(), a.User.ID)
	if err != nil {
		h.fail(w, "recovery codes", err)
		return
	}
	web.JSON(w, http.StatusOK, struct {
		ID            string `json:"id"`
		Name          string `json:"name"`
		RecoveryCodes bool   `json:"recoveryCodes"`
	}{f.ID, f.Name, left == 0})
}

type errorBody struct {
	Error string `json:"error"`
}

// fail answers a refused or failed call. The errors of this package are
// written for the user; anything else is logged and answered plainly.
func (h *Handler) fail(w http.ResponseWriter, what string, err error) {
	for _, known := range []error{ErrName, ErrCeremony, ErrRefused, ErrNoPasskey, ErrCloned} {
		if errors.Is(err, known) {
			web.JSON(w, status(known), errorBody{known.Error()})
			return
		}
	}
	var throttled *directory.ThrottledError
	if errors.As(err, &throttled) {
		web.JSON(w, http.StatusTooManyRequests, errorBody{"Too many attempts. Wait a moment and try again."})
		return
	}
	if errors.Is(err, directory.ErrInvalid) {
		web.JSON(w, http.StatusBadRequest, errorBody{"You have too many sign-in methods; remove one first."})
		return
	}
	h.log.Error("passkey: "+what, "err", err)
	web.JSON(w, http.StatusInternalServerError, errorBody{"Something went wrong on our side. Try again in a moment."})
}

// status maps each error of this package to its HTTP status.
func status(err error) int {
	switch err {
	case ErrNoPasskey:
		return http.StatusNotFound
	case ErrCloned:
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}
