package signin

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/web"
)

// Account is the signed-in user of a self-service request.
type Account struct {
	User    directory.User
	Session Session
	// CSRF goes back with every form (field "csrf") or script request
	// (header X-CSRF-Token).
	CSRF string
	// SecureContext reports whether browsers allow passkeys and push at the
	// external URL.
	SecureContext bool
	// Recent reports whether the user signed in within RecentSignIn, as
	// changes to how they sign in require (see AccountChange).
	Recent bool
}

// SecureContext reports whether browsers treat the external URL as a secure
// context: https, or plain http on the loopback host.
func (e *Engine) SecureContext() bool { return e.secureContext }

func secureContext(u *url.URL) bool {
	if u.Scheme == "https" {
		return true
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Account returns the user of a self-service request. For anything but GET
// and HEAD it also checks the CSRF token. When it returns false it has
// answered the request: a sign-in for a page, a refusal for a form.
func (e *Engine) Account(w http.ResponseWriter, r *http.Request) (Account, bool) {
	a, ok := e.SignedIn(w, r)
	if !ok {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			e.Begin(w, r, nil, false)
		} else {
			e.showMessage(w, http.StatusUnauthorized, "Signed out", "You are no longer signed in. Sign in again and repeat what you were doing.")
		}
		return Account{}, false
	}
	return a, e.CheckCSRF(w, r, a.Session)
}

// SignedIn returns the account of the request's live session, read in one
// snapshot. Unlike Account it answers nothing when there is none (it only
// clears a dead session's cookie), and it checks no CSRF token (CheckCSRF).
func (e *Engine) SignedIn(w http.ResponseWriter, r *http.Request) (Account, bool) {
	s, u, ok := e.liveSession(w, r)
	if !ok {
		return Account{}, false
	}
	return e.account(s, u), true
}

// Recheck is SignedIn for a request whose HTTP answer has been given, such
// as a WebSocket upgrade whose every message needs the session still live:
// it reads the session again and answers nothing.
func (e *Engine) Recheck(r *http.Request) (Account, bool) {
	s, u, err := e.requestSession(r)
	if err != nil {
		e.logSessionError(err)
		return Account{}, false
	}
	return e.account(s, u), true
}

func (e *Engine) account(s Session, u directory.User) Account {
	_, _, recentFor := e.dir.SessionTimes()
	recent := e.now().Sub(s.AuthTime) <= recentFor
	return Account{User: u, Session: s, CSRF: s.CSRF, SecureContext: e.SecureContext(), Recent: recent}
}

// CheckCSRF checks that a request other than GET and HEAD carries session
// s's CSRF token. When it returns false it has answered the request.
func (e *Engine) CheckCSRF(w http.ResponseWriter, r *http.Request, s Session) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	if r.Header.Get("X-CSRF-Token") == "" {
		if err := r.ParseForm(); err != nil {
			e.showMessage(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
			return false
		}
	}
	if !s.ValidCSRF(r) {
		e.showMessage(w, http.StatusForbidden, "Form expired", "This form has expired. Go back, reload the page and try again.")
		return false
	}
	return true
}

// signInAgainReason is why a change waits for a fresh sign-in.
const signInAgainReason = "To change how you sign in, sign in again first. This keeps a browser someone left signed in from being used to add a way into your account."

// AccountChange is Account for a change to how the user signs in: adding
// or removing a sign-in method, new recovery codes, a new app password. It
// also needs a recent sign-in (Account.Recent); without one it answers
// with AskSignInAgain.
func (e *Engine) AccountChange(w http.ResponseWriter, r *http.Request) (Account, bool) {
	a, ok := e.Account(w, r)
	if ok && !a.Recent {
		e.AskSignInAgain(w, r)
		return Account{}, false
	}
	return a, ok
}

// AskSignInAgain refuses a change for want of a recent sign-in: a page
// with a button that signs in again, or JSON {"error"} to a script.
func (e *Engine) AskSignInAgain(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-CSRF-Token") != "" {
		web.JSON(w, http.StatusForbidden, map[string]string{"error": signInAgainReason})
		return
	}
	e.pages.Render(w, http.StatusForbidden, "message.html", web.Page{Title: "Sign in again", Message: signInAgainReason, Link: &web.Link{Href: "/account/sign-in-again", Text: "Sign in again"}})
}

// FewRecoveryCodes is the count of unused recovery codes at or under which
// the user is told to make new ones.
const FewRecoveryCodes = 3
