package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/atrium-dir/atrium/signin"
)

// Sessions: who is signed in on the web now, and ending any session.

type sessionRow struct {
	ID        string
	UID, Name string
	SignedIn  time.Time
	LastSeen  time.Time
	Methods   string
	// Own is the admin's own session in this browser.
	Own bool
}

func (c *Console) sessions(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	list, err := c.signin.Sessions(ctx)
	if err != nil {
		c.fail(w, "sessions", err)
		return
	}
	rows := make([]sessionRow, 0, len(list))
	for _, s := range list {
		u, err := c.dir.UserByID(ctx, s.UserID)
		if err != nil {
			continue // the user is gone, and so is the session at its next request
		}
		rows = append(rows, sessionRow{
			ID: s.ID, UID: u.UID, Name: u.CommonName(), SignedIn: s.AuthTime, LastSeen: s.LastSeen,
			Methods: strings.Join(signin.AMR(s.Methods), ", "), Own: s.ID == a.Session.ID,
		})
	}
	notice := map[string]string{"ended": "The session is ended."}[r.URL.Query().Get("done")]
	c.show(w, http.StatusOK, "sessions.html", "Sessions", view{Admin: a, Section: "sessions", Notice: notice, Data: rows})
}

func (c *Console) endSession(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	id := r.PostFormValue("id")
	list, err := c.signin.Sessions(ctx)
	if err != nil {
		c.fail(w, "sessions", err)
		return
	}
	subject := ""
	for _, s := range list {
		if s.ID == id {
			if u, err := c.dir.UserByID(ctx, s.UserID); err == nil {
				subject = u.UID
			}
		}
	}
	if subject == "" {
		c.pages.Message(w, http.StatusNotFound, "No such session", "That session has ended already.")
		return
	}
	if err := c.signin.EndSession(ctx, id); err != nil {
		c.fail(w, "end session", err)
		return
	}
	c.audit(r, a, subject, "session end")
	http.Redirect(w, r, "/admin/sessions?done=ended", http.StatusSeeOther)
}
