package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/web"
)

// The invite page at /invite/<token>: the invited person sets their
// password, then the sign-in goes on where the policy asks for a second
// factor (enrolling one) and ends on the self-service page. The directory
// spends the invite with the password, so a link works once.

type inviteForm struct {
	User directory.User
}

func (c *Console) invite(w http.ResponseWriter, r *http.Request) {
	token := strings.TrimPrefix(r.URL.Path, "/invite/")
	u, err := c.dir.InviteUser(r.Context(), token)
	if errors.Is(err, directory.ErrNotFound) {
		c.pages.Message(w, http.StatusGone, "Invite link not valid", "This invite link was used already, replaced by a newer one, or has expired. Ask your administrator for a new one.")
		return
	} else if err != nil {
		c.fail(w, "read invite", err)
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		c.showInviteForm(w, http.StatusOK, u, "")
	case http.MethodPost:
		c.acceptInvite(w, r, token, u)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (c *Console) showInviteForm(w http.ResponseWriter, status int, u directory.User, problem string) {
	c.pages.Render(w, status, "invite.html", web.Page{Title: "Welcome to Atrium", Error: problem, Data: inviteForm{User: u}})
}

// acceptInvite sets the password. The form carries no session to hold a
// CSRF token; the unguessable token in its address stands in for one, and
// a post from another site is refused by its Origin.
func (c *Console) acceptInvite(w http.ResponseWriter, r *http.Request, token string, u directory.User) {
	if !sameOrigin(r) {
		c.pages.Message(w, http.StatusForbidden, "Form expired", "This form has expired. Go back, reload the page and try again.")
		return
	}
	pw := r.PostFormValue("new")
	if pw != r.PostFormValue("confirm") {
		c.showInviteForm(w, http.StatusBadRequest, u, "The two passwords differ.")
		return
	}
	err := c.dir.CheckOwnPassword(pw, u)
	var p directory.Password
	if err == nil {
		p, err = c.dir.NewPassword(pw)
	}
	if err != nil {
		c.showInviteForm(w, http.StatusBadRequest, u, "Choose another password: "+plain(err))
		return
	}
	if u, err = c.dir.AcceptInvite(r.Context(), token, p); err != nil {
		if errors.Is(err, directory.ErrNotFound) {
			c.pages.Message(w, http.StatusGone, "Invite link not valid", "This invite link was used already. Ask your administrator for a new one.")
			return
		}
		c.fail(w, "accept invite", err)
		return
	}
	c.dir.Audit(directory.AuditEvent{Kind: "account", Subject: u.UID, Remote: web.RemoteAddr(r), Service: "web", Result: directory.ResultOK, Detail: "invite: password set"})
	c.signin.Continue(w, r, u.ID, []string{"pwd"}, nil)
}

// sameOrigin reports whether a form post came from this host, by its
// Origin header (browsers send one with every POST); a missing Origin
// (an old browser or a script) is checked by the token alone.
func sameOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return r.Header.Get("Sec-Fetch-Site") != "cross-site"
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}
