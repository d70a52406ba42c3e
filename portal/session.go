package portal

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// Session is a signed-in browser. The cookie holds a random token; the
// store keeps the record under the token's hash, so a copy of the database
// does not hand out live sessions.
type Session struct {
	ID      string    `json:"-"` // hash of the cookie token
	UserID  string    `json:"user"`
	Created time.Time `json:"created"`
	// Issued is when this browser's token was issued: at sign-in, or when
	// the user signed out everywhere else (zero in older records: Created).
	Issued   time.Time `json:"issued,omitzero"`
	LastSeen time.Time `json:"lastSeen"`
	// AuthTime is when the user last proved who they are.
	AuthTime time.Time `json:"authTime"`
	// Methods are the RFC 8176 amr values of that sign-in.
	Methods []string `json:"methods"`
	CSRF    string   `json:"csrf"`
}

const (
	kindSession   = "session"
	sessionCookie = "atrium_session"
	// kindSignOut holds, by user ID, when the user signed out everywhere
	// else: the user's sessions created before then have ended.
	kindSignOut = "signout"
	// touchEvery limits how often a busy session's last-seen time is written.
	touchEvery = time.Minute
)

func (p *Portal) expiry(s Session) time.Time {
	idle, abs := s.LastSeen.Add(p.cfg.SessionIdle), s.Created.Add(p.cfg.SessionMax)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// startSession issues a new session (a new id, whatever the browser held
// before) for a finished flow.
func (p *Portal) startSession(w http.ResponseWriter, r *http.Request, f Flow) (Session, error) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		_ = p.dir.DeleteState(r.Context(), kindSession, hashToken(c.Value))
	}
	now := p.now().UTC()
	token := randomToken()
	s := Session{ID: hashToken(token), UserID: f.UserID, Created: now, Issued: now, LastSeen: now, AuthTime: now, Methods: f.Methods, CSRF: randomToken()}
	if err := p.dir.PutState(r.Context(), kindSession, s.ID, s, p.expiry(s)); err != nil {
		return Session{}, err
	}
	http.SetCookie(w, p.cookie(sessionCookie, token, p.cfg.SessionMax))
	return s, nil
}

// Session returns the request's live session. A session ends when it is
// idle or old, when its user is gone or disabled, or when the user's
// password changed after it began.
func (p *Portal) Session(w http.ResponseWriter, r *http.Request) (Session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return Session{}, false
	}
	id := hashToken(c.Value)
	s, err := p.checkSession(r.Context(), id)
	if err != nil {
		if !errors.Is(err, directory.ErrNotFound) && !errors.Is(err, errSessionEnded) {
			p.log.Error("read session", "err", err)
		}
		http.SetCookie(w, p.cookie(sessionCookie, "", -time.Second))
		return Session{}, false
	}
	return s, true
}

var errSessionEnded = errors.New("session ended")

func (p *Portal) checkSession(ctx context.Context, id string) (Session, error) {
	var s Session
	if err := p.dir.State(ctx, kindSession, id, &s); err != nil {
		return Session{}, err
	}
	s.ID = id
	u, err := p.dir.UserByID(ctx, s.UserID)
	if err != nil || u.Disabled || u.PasswordChanged.After(s.AuthTime) {
		_ = p.dir.DeleteState(ctx, kindSession, id)
		return Session{}, errSessionEnded
	}
	var signedOut time.Time
	switch err := p.dir.State(ctx, kindSignOut, u.ID, &signedOut); {
	case err == nil && signedOut.After(cmp.Or(s.Issued, s.Created)):
		_ = p.dir.DeleteState(ctx, kindSession, id)
		return Session{}, errSessionEnded
	case err != nil && !errors.Is(err, directory.ErrNotFound):
		return Session{}, err
	}
	now := p.now().UTC()
	if now.Sub(s.LastSeen) < touchEvery {
		return s, nil
	}
	return directory.UpdateState(ctx, p.dir, kindSession, id, func(stored *Session) (time.Time, error) {
		stored.LastSeen = now
		return p.expiry(*stored), nil
	})
}

func (p *Portal) logout(w http.ResponseWriter, r *http.Request) {
	s, ok := p.Session(w, r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if err := r.ParseForm(); err != nil || !equalTokens(r.PostForm.Get("csrf"), s.CSRF) {
		p.ShowMessage(w, http.StatusForbidden, "Form expired", "This form has expired. Go back, reload the page and try again.")
		return
	}
	if err := p.dir.DeleteState(r.Context(), kindSession, s.ID); err != nil {
		p.fail(w, "end session", err)
		return
	}
	http.SetCookie(w, p.cookie(sessionCookie, "", -time.Second))
	p.ShowMessage(w, http.StatusOK, "Signed out", "You are signed out of Atrium.")
}
