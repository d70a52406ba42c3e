package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// The users list: a search by the start of uid, mail or name, paged on the
// server from the directory's indexes. Without scripts it is a GET form;
// console.js asks for the same page as JSON while the admin types.

const usersPerPage = 50

type usersView struct {
	Query string
	Users []directory.UserSummary
	// NextURL is the next page's address; "" on the last page.
	NextURL string
}

// usersPage is a page of the users list as console.js receives it.
type usersPage struct {
	Users []userRow `json:"users"`
	Next  string    `json:"next"`
}

// userRow is a users list row as console.js receives it.
type userRow struct {
	UID      string `json:"uid"`
	Name     string `json:"name"`
	Mail     string `json:"mail"`
	Disabled bool   `json:"disabled"`
}

var userNotices = map[string]string{
	"saved": "The changes are saved.", "disabled": "The user is disabled and signed out.", "enabled": "The user is enabled.",
	"mfa": "The user's second factors and recovery codes are removed.", "signed-out": "The user is signed out everywhere.",
	"deleted": "The user is deleted.", "app-revoked": "The app password is revoked.",
}

func (c *Console) users(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	v, err := c.searchUsers(r.Context(), q.Get("q"), q.Get("after"))
	if err != nil {
		c.fail(w, "search users", err)
		return
	}
	if q.Get("format") == "json" {
		web.JSON(w, http.StatusOK, v.page())
		return
	}
	c.show(w, http.StatusOK, "users.html", "Users", view{Admin: a, Section: "users", Notice: userNotices[q.Get("done")], Data: v})
}

// searchUsers is a page of the users whose uid, mail or name starts with
// query, from the one after after.
func (c *Console) searchUsers(ctx context.Context, query, after string) (usersView, error) {
	query = strings.TrimSpace(query)
	page, err := c.dir.SearchUsers(ctx, query, after, usersPerPage)
	if err != nil {
		return usersView{}, err
	}
	v := usersView{Query: query, Users: page.Users}
	if page.Next != "" {
		v.NextURL = "/admin/users?" + url.Values{"q": {query}, "after": {page.Next}}.Encode()
	}
	return v, nil
}

// page is v as console.js receives it.
func (v usersView) page() usersPage {
	rows := make([]userRow, 0, len(v.Users))
	for _, u := range v.Users {
		rows = append(rows, userRow{UID: u.UID, Name: u.CommonName, Mail: u.Mail, Disabled: u.Disabled})
	}
	return usersPage{Users: rows, Next: v.NextURL}
}

// newUserForm is the create form's values, shown again when refused.
type newUserForm struct {
	UID, Mail, GivenName, Surname, DisplayName string
}

func (c *Console) newUser(w http.ResponseWriter, r *http.Request) {
	if a, ok := c.admin(w, r); ok {
		c.show(w, http.StatusOK, "user-new.html", "New user", view{Admin: a, Section: "users", Data: newUserForm{}})
	}
}

// createUser adds the user and shows an invite link with which they set
// their password (and enroll a second factor where the policy asks).
func (c *Console) createUser(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	f := newUserForm{
		UID: strings.TrimSpace(r.PostFormValue("uid")), Mail: strings.TrimSpace(r.PostFormValue("mail")),
		GivenName: r.PostFormValue("given"), Surname: r.PostFormValue("sn"), DisplayName: r.PostFormValue("name"),
	}
	u := directory.User{UID: f.UID, Mail: f.Mail, GivenName: f.GivenName, Surname: f.Surname, DisplayName: f.DisplayName}
	var pw string
	var err error
	if r.PostFormValue("start") == "password" {
		pw = password.Generate(userPasswordLength)
		u, err = c.createWithPassword(r.Context(), u, pw)
	} else {
		u, err = c.dir.CreateUser(r.Context(), u)
	}
	if err != nil {
		c.refuse(w, err, func(status int, message string) {
			c.show(w, status, "user-new.html", "New user", view{Admin: a, Section: "users", Error: message, Data: f})
		})
		return
	}
	c.audit(r, a, u.UID, "user add")
	if pw == "" {
		c.showInvite(w, r, a, u, "user created")
		return
	}
	c.show(w, http.StatusOK, "user-password.html", "Password of "+u.UID, view{Admin: a, Section: "users", Data: userPassword{User: u, Password: pw}})
}

// userPasswordLength is the length of a generated user password, as
// `atrium user add` makes one.
const userPasswordLength = 24

// userPassword is the page that shows a new user's generated password
// once.
type userPassword struct {
	User     directory.User
	Password string
}

// createWithPassword adds u with the password pw in one transaction, as
// `atrium user add` does, so a user never exists without it.
func (c *Console) createWithPassword(ctx context.Context, u directory.User, pw string) (directory.User, error) {
	p, err := c.dir.NewPassword(pw)
	if err != nil {
		return u, err
	}
	given := u
	err = c.dir.Batch(ctx, func(b *directory.Batch) error {
		// On etcd fn may run again after a conflict: start from u as given.
		created, err := b.CreateUser(given)
		if err != nil {
			return err
		}
		u = created
		return b.SetPassword(created.ID, p)
	})
	return u, err
}

// inviteView is the page that shows a new invite link once.
type inviteView struct {
	User    directory.User
	Link    string
	Expires string
	// Emailed: the link went to the user's mail address too; MailFailed:
	// sending it failed (logged).
	Emailed, MailFailed bool
}

// showInvite issues an invite for u and shows its link to the admin, and
// mails it to the user when SMTP is configured.
func (c *Console) showInvite(w http.ResponseWriter, r *http.Request, a signin.Account, u directory.User, why string) {
	ttl := c.dir.Settings().InviteTTL
	token, err := c.dir.CreateInvite(r.Context(), u.UID, ttl)
	if err != nil {
		c.fail(w, "invite", err)
		return
	}
	c.audit(r, a, u.UID, "invite ("+why+")")
	v := inviteView{User: u, Link: c.signin.URL("/invite/" + token), Expires: c.now().Add(ttl).UTC().Format("2 Jan 2006 15:04 MST")}
	if c.mail != nil && u.Mail != "" {
		body := "Hello " + u.CommonName() + ",\n\nAn account " + u.UID + " is waiting for you. Open this link to choose your password:\n\n" +
			v.Link + "\n\nThe link works once, until " + v.Expires + ".\n"
		if err := c.mail.Send(r.Context(), u.Mail, "Your Atrium account", body); err != nil {
			c.log.Error("console: mail invite", "user", u.UID, "err", err)
			v.MailFailed = true
		} else {
			v.Emailed = true
		}
	}
	c.show(w, http.StatusOK, "invite-link.html", "Invite link", view{Admin: a, Section: "users", Data: v})
}
