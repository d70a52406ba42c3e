package portal

import (
	"errors"
	"net/http"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// accountChangePassword checks the current password through the directory (so
// backoff and audit apply), sets the new one (with the NT hash when Samba
// is on) and keeps only this session: the others end (see signin.Renew),
// and this one is renewed as proven now.
func (p *Portal) accountChangePassword(w http.ResponseWriter, r *http.Request) {
	a, ok := p.signin.Account(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	current, next := r.PostForm.Get("current"), r.PostForm.Get("new")
	err := p.accountCheckPassword(r, a, current, next, r.PostForm.Get("confirm"))
	var refusal *accountError
	switch {
	case errors.As(err, &refusal):
		p.refuseForm(w, r, a, refusal.status, refusal.message)
		return
	case err != nil:
		p.fail(w, "check password", err)
		return
	}
	if err := p.dir.SetOwnPassword(ctx, a.User.UID, next); err != nil {
		p.fail(w, "set password", err)
		return
	}
	u, err := p.dir.UserByID(ctx, a.User.ID)
	if err != nil {
		p.fail(w, "set password", err)
		return
	}
	proven := p.now().UTC()
	if u.PasswordChanged.After(proven) {
		proven = u.PasswordChanged
	}
	if err := p.signin.Renew(ctx, a.Session, proven); err != nil {
		// The session ended in between (another tab saw the change first):
		// the user signs in again with the new password.
		p.log.Info("portal: session ended during password change", "user", a.User.UID, "err", err)
	}
	p.auditAccount(r, a, "password changed")
	http.Redirect(w, r, "/?done=password#password", http.StatusSeeOther)
}

func (p *Portal) accountCheckPassword(r *http.Request, a signin.Account, current, next, confirm string) error {
	switch {
	case current == "":
		return &accountError{http.StatusBadRequest, "Enter your current password."}
	case next != confirm:
		return &accountError{http.StatusBadRequest, "The new password and its confirmation differ."}
	case next == current:
		return &accountError{http.StatusBadRequest, "The new password is the same as the current one."}
	}
	if err := p.dir.CheckOwnPassword(next, a.User); err != nil {
		msg := strings.TrimSuffix(err.Error(), ": "+directory.ErrInvalid.Error())
		return &accountError{http.StatusBadRequest, strings.ToUpper(msg[:1]) + msg[1:] + "."}
	}
	_, err := p.dir.Authenticate(r.Context(), directory.Login{
		Kind: directory.KindUser, Name: a.User.UID, Password: current,
		Remote: web.RemoteAddr(r), Service: "account",
	})
	if refusal := signin.Throttled(err); refusal != nil {
		return &accountError{refusal.Status, refusal.Message}
	}
	switch {
	case errors.Is(err, directory.ErrBadCredentials):
		return &accountError{http.StatusForbidden, "Your current password is incorrect."}
	}
	return err
}
