package portal

import (
	"errors"
	"net/http"
	"strings"

	"github.com/atrium-dir/atrium/directory"
)

// accountReveal is account-reveal.html: secrets shown once, on a page of
// their own, never again.
type accountReveal struct {
	// What names what was created ("App password for NAS").
	What   string
	Secret string
	// Hint says how to use it.
	Hint string
}

func (p *Portal) accountCreateAppPassword(w http.ResponseWriter, r *http.Request) {
	a, ok := p.signin.AccountChange(w, r)
	if !ok {
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	secret, err := p.dir.AddAppPassword(r.Context(), a.User.UID, name)
	switch {
	case errors.Is(err, directory.ErrInvalid):
		p.refuseForm(w, r, a, http.StatusBadRequest, "Give the app password a name of 1 to 64 characters, such as the device that will use it.")
		return
	case errors.Is(err, directory.ErrAlreadyExists):
		p.refuseForm(w, r, a, http.StatusConflict, "You already have an app password with this name. Pick another name, or revoke the old one first.")
		return
	case err != nil:
		p.fail(w, "add app password", err)
		return
	}
	p.auditAccount(r, a, "app password created: "+name)
	p.renderAccount(w, http.StatusOK, "account-reveal.html", "App password created", accountReveal{
		What:   "App password for " + name,
		Secret: secret,
		Hint:   "Enter it on the device instead of your account password, with your username " + a.User.UID + ". It is shown only now: copy it before you leave this page.",
	})
}

func (p *Portal) accountRevokeAppPassword(w http.ResponseWriter, r *http.Request) {
	a, ok := p.signin.Account(w, r)
	if !ok {
		return
	}
	name := r.PostForm.Get("name")
	err := p.dir.RevokeAppPassword(r.Context(), a.User.UID, name)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		p.refuseForm(w, r, a, http.StatusNotFound, "There is no app password with this name; it may be revoked already.")
		return
	case err != nil:
		p.fail(w, "revoke app password", err)
		return
	}
	p.auditAccount(r, a, "app password revoked: "+name)
	http.Redirect(w, r, "/?done=app-revoked#app-passwords", http.StatusSeeOther)
}
