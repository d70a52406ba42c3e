package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// Who may do what: every console request comes from a signed-in member of
// the admin groups whose session used a second factor; a change also needs
// a recent sign-in.

// admin returns the admin of a console request. For anything but GET and
// HEAD it also checks the CSRF token. When it returns false it has answered
// the request: a sign-in (or a second factor) for a page, a refusal
// otherwise.
func (c *Console) admin(w http.ResponseWriter, r *http.Request) (signin.Account, bool) {
	page := r.Method == http.MethodGet || r.Method == http.MethodHead
	a, ok := c.signin.SignedIn(w, r)
	if !ok {
		if page {
			// Who is an admin is known only after the sign-in, so it asks for
			// no more than the user's own factors; an admin without one is
			// taken to enroll by StepUp below when they come back.
			c.signin.Begin(w, r, c.parked(r.URL.RequestURI(), false), false)
		} else {
			c.pages.Message(w, http.StatusUnauthorized, "Signed out", "You are no longer signed in. Sign in again and repeat what you were doing.")
		}
		return signin.Account{}, false
	}
	if !c.IsAdmin(r.Context(), a.User.ID) {
		c.forbid(w)
		return signin.Account{}, false
	}
	if !signin.UsedMFA(a.Session.Methods) {
		if page {
			c.signin.StepUp(w, r, a.Session, c.parked(r.URL.RequestURI(), true))
		} else {
			c.pages.Message(w, http.StatusForbidden, "Second factor needed", "The admin console needs a sign-in with a second factor. Open the console again to add one.")
		}
		return signin.Account{}, false
	}
	return a, c.signin.CheckCSRF(w, r, a.Session)
}

// change is admin for a change to the directory, which also needs a
// recent sign-in; without one it asks the admin to sign in again and come
// back to the page the form was on.
func (c *Console) change(w http.ResponseWriter, r *http.Request) (signin.Account, bool) {
	a, ok := c.admin(w, r)
	if ok && !a.Recent {
		back := "/admin/"
		if ref, err := url.Parse(r.Referer()); err == nil && strings.HasPrefix(ref.Path, "/admin/") {
			back = ref.RequestURI()
		}
		c.pages.Render(w, http.StatusForbidden, "message.html", web.Page{
			Title:   "Sign in again",
			Message: "Changes in the admin console need a recent sign-in. Sign in again, then repeat the change.",
			Link:    &web.Link{Href: "/admin/sign-in-again?to=" + url.QueryEscape(back), Text: "Sign in again"},
		})
		return signin.Account{}, false
	}
	return a, ok
}

// signInAgain starts a fresh sign-in, with a second factor, that returns
// to the console page the admin was on.
func (c *Console) signInAgain(w http.ResponseWriter, r *http.Request) {
	if s, ok := c.signin.Session(w, r); ok && !c.IsAdmin(r.Context(), s.UserID) {
		c.forbid(w)
		return
	}
	c.signin.Begin(w, r, c.parked(r.URL.Query().Get("to"), false), true)
}

func (c *Console) forbid(w http.ResponseWriter) {
	c.pages.Message(w, http.StatusForbidden, "Not allowed", "The admin console is only for administrators.")
}

// parked is a console page waiting for a sign-in, with a second factor
// where mfa is set.
func (c *Console) parked(path string, mfa bool) *signin.Parked {
	payload, _ := json.Marshal(path)
	return &signin.Parked{Kind: resumeKind, Payload: payload, RequireMFA: mfa, App: "the admin console"}
}

// audit records a change an admin made, with the admin and their address.
func (c *Console) audit(r *http.Request, a signin.Account, subject, action string) {
	c.dir.Audit(directory.AuditEvent{
		Kind: "admin", Subject: subject, Actor: a.User.UID, Remote: web.RemoteAddr(r),
		Service: "console", Result: directory.ResultOK, Detail: action,
	})
}
