package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
)

// One user's page: their details as a form, direct and effective groups,
// second factors (never their secrets), recent sign-ins, and the actions.

type userView struct {
	User              directory.User
	SSHKeys           string
	PrimaryGroup      string // "" for the private group
	Direct, Effective []directory.Group
	Factors           []directory.Factor
	AppPasswords      []directory.AppPassword
	SignIns           []directory.AuditEvent
}

// signInsShown is how many of the user's recent sign-ins the page lists.
const signInsShown = 15

func (c *Console) user(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	c.showUser(w, r, a, http.StatusOK, userNotices[r.URL.Query().Get("done")], "")
}

func (c *Console) showUser(w http.ResponseWriter, r *http.Request, a signin.Account, status int, notice, problem string) {
	v, err := c.userView(r.Context(), r.PathValue("uid"))
	if err != nil {
		c.refuse(w, err, func(status int, message string) {
			c.pages.Message(w, status, "No such user", "There is no user "+r.PathValue("uid")+".")
		})
		return
	}
	c.show(w, status, "user.html", v.User.CommonName(), view{Admin: a, Section: "users", Notice: notice, Error: problem, Data: v})
}

func (c *Console) userView(ctx context.Context, uid string) (userView, error) {
	var v userView
	err := c.dir.View(ctx, func(ctx context.Context, r directory.Reader) error {
		u, err := r.UserByUID(uid)
		if err != nil {
			return err
		}
		v.User, v.SSHKeys = u, strings.Join(u.SSHKeys, "\n")
		if !u.HasPrivateGroup() {
			if g, err := r.GroupByGIDNumber(u.GIDNumber); err == nil {
				v.PrimaryGroup = g.CN
			}
		}
		if v.Direct, err = r.DirectGroups(u.ID); err != nil {
			return err
		}
		v.Effective, err = r.EffectiveGroups(u.ID)
		return err
	})
	if err != nil {
		return v, err
	}
	if v.Factors, err = c.dir.Factors(ctx, v.User.ID); err != nil {
		return v, err
	}
	if v.AppPasswords, err = c.dir.AppPasswords(ctx, v.User.UID); err != nil {
		return v, err
	}
	// Logins are recorded under the name typed: the uid or the mail.
	for _, name := range []string{v.User.UID, v.User.Mail} {
		events, err := c.dir.AuditEvents(ctx, directory.AuditQuery{Subject: name, Kind: "login", Limit: signInsShown})
		if err != nil {
			return v, err
		}
		v.SignIns = append(v.SignIns, events...)
	}
	slices.SortStableFunc(v.SignIns, func(a, b directory.AuditEvent) int { return b.Time.Compare(a.Time) })
	v.SignIns = v.SignIns[:min(len(v.SignIns), signInsShown)]
	return v, nil
}

// editUser saves the details form: names, mail, shell, home, SSH keys,
// the numbers and the primary group. A changed gidNumber wins over the
// group's name, which then still names the old group.
func (c *Console) editUser(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	uid := r.PathValue("uid")
	form := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	gidChanged := false
	_, err := c.dir.UpdateUser(r.Context(), uid, func(u *directory.User) error {
		oldGID := u.GIDNumber
		if err := formNumber(form("uidnumber"), "uidNumber", &u.UIDNumber); err != nil {
			return err
		}
		if err := formNumber(form("gidnumber"), "gidNumber", &u.GIDNumber); err != nil {
			return err
		}
		gidChanged = u.GIDNumber != oldGID
		u.GivenName, u.Surname, u.DisplayName = form("given"), form("sn"), form("name")
		u.Mail, u.LoginShell, u.HomeDirectory = form("mail"), form("shell"), form("home")
		u.SSHKeys = nil
		for line := range strings.Lines(r.PostFormValue("ssh")) {
			if key := strings.TrimSpace(line); key != "" {
				u.SSHKeys = append(u.SSHKeys, key)
			}
		}
		return nil
	})
	if err != nil {
		c.refuse(w, err, func(status int, message string) { c.showUser(w, r, a, status, "", message) })
		return
	}
	c.audit(r, a, uid, "user edit")
	if !gidChanged {
		if err := c.setPrimaryGroup(r.Context(), uid, form("group")); err != nil {
			c.refuse(w, err, func(status int, message string) {
				c.showUser(w, r, a, status, "", "The other changes are saved; the primary group is not. "+message)
			})
			return
		}
	}
	http.Redirect(w, r, "/admin/users/"+uid+"?done=saved", http.StatusSeeOther)
}

// formNumber sets *n from a form field; an empty field keeps *n.
func formNumber(field, what string, n *int) error {
	if field == "" {
		return nil
	}
	v, err := strconv.Atoi(field)
	if err != nil || v <= 0 {
		return fmt.Errorf("%s %q: give a positive whole number: %w", what, field, directory.ErrInvalid)
	}
	*n = v
	return nil
}

// setPrimaryGroup changes the user's primary group only when the form asks
// for another one, so that saving names alone does not touch it.
func (c *Console) setPrimaryGroup(ctx context.Context, uid, cn string) error {
	v, err := c.userView(ctx, uid)
	if err != nil || strings.EqualFold(v.PrimaryGroup, cn) {
		return err
	}
	_, err = c.dir.SetPrimaryGroup(ctx, uid, cn)
	return err
}

// userAction runs one of the buttons on a user's page.
func (c *Console) userAction(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	uid, action := r.PathValue("uid"), r.PathValue("action")
	u, err := c.dir.User(r.Context(), uid)
	if err != nil {
		c.refuse(w, err, func(status int, message string) { c.pages.Message(w, status, "No such user", message) })
		return
	}
	done, err := c.runUserAction(r, a, u, action)
	switch {
	case err != nil:
		c.refuse(w, err, func(status int, message string) { c.showUser(w, r, a, status, "", message) })
	case done == "invite":
		c.showInvite(w, r, a, u, "password reset")
	case done == "renamed":
		renamed := strings.TrimSpace(r.PostFormValue("new"))
		c.audit(r, a, u.UID, "user rename to "+renamed)
		http.Redirect(w, r, "/admin/users/"+url.PathEscape(renamed)+"?done=saved", http.StatusSeeOther)
	case done == "deleted":
		c.audit(r, a, uid, "user delete")
		http.Redirect(w, r, "/admin/users?done=deleted", http.StatusSeeOther)
	case done != "":
		c.audit(r, a, uid, "user "+action)
		http.Redirect(w, r, "/admin/users/"+uid+"?done="+done, http.StatusSeeOther)
	default:
		c.pages.Message(w, http.StatusNotFound, "Not found", "There is no such action.")
	}
}

// runUserAction makes the change and names the notice to show; "" is an
// unknown action.
func (c *Console) runUserAction(r *http.Request, a signin.Account, u directory.User, action string) (string, error) {
	ctx := r.Context()
	switch action {
	case "disable":
		_, err := c.dir.SetDisabled(ctx, u.UID, true)
		return "disabled", err
	case "enable":
		_, err := c.dir.SetDisabled(ctx, u.UID, false)
		return "enabled", err
	case "invite":
		return "invite", nil
	case "reset-mfa":
		return "mfa", c.dir.ResetMFA(ctx, u.ID)
	case "sign-out":
		return "signed-out", c.signin.EndSessions(ctx, u.ID)
	case "revoke-app-password":
		return "app-revoked", c.dir.RevokeAppPassword(ctx, u.UID, r.PostFormValue("name"))
	case "rename":
		_, err := c.dir.RenameUser(ctx, u.UID, strings.TrimSpace(r.PostFormValue("new")))
		return "renamed", err
	case "delete":
		if r.PostFormValue("confirm") != u.UID {
			return "", &confirmError{uid: u.UID}
		}
		if u.ID == a.User.ID {
			return "", &confirmError{self: true}
		}
		return "deleted", c.dir.DeleteUser(ctx, u.UID)
	}
	return "", nil
}

// confirmError refuses a delete whose confirmation does not name the user.
type confirmError struct {
	uid  string
	self bool
}

func (e *confirmError) Error() string {
	if e.self {
		return "you cannot delete yourself: " + directory.ErrNotPermitted.Error()
	}
	return "type " + e.uid + " to confirm: " + directory.ErrInvalid.Error()
}

func (e *confirmError) Unwrap() error {
	if e.self {
		return directory.ErrNotPermitted
	}
	return directory.ErrInvalid
}

func (c *Console) confirmDeleteUser(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	u, err := c.dir.User(r.Context(), r.PathValue("uid"))
	if err != nil {
		c.refuse(w, err, func(status int, message string) { c.pages.Message(w, status, "No such user", message) })
		return
	}
	c.show(w, http.StatusOK, "user-delete.html", "Delete "+u.UID, view{Admin: a, Section: "users", Data: u})
}
