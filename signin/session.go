package signin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
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

// UsedMFA reports whether a sign-in that proved methods (RFC 8176 amr
// values, a session's or a flow's) used more than one factor: the password
// and a second one. It is the one definition every front end uses: the
// sign-in's second-factor step, an app that requires MFA, the
// authentication context a SAML assertion states.
func UsedMFA(methods []string) bool {
	proofs := slices.DeleteFunc(slices.Clone(methods), func(m string) bool { return m == "mfa" })
	slices.Sort(proofs)
	return len(slices.Compact(proofs)) > 1
}

// AMR is the RFC 8176 list of a sign-in: its methods, plus "mfa" when it
// used more than one factor.
func AMR(methods []string) []string {
	out := slices.DeleteFunc(slices.Clone(methods), func(m string) bool { return m == "mfa" })
	if UsedMFA(methods) {
		out = append(out, "mfa")
	}
	return out
}

// ValidCSRF reports whether r carries the session's CSRF token: in the
// header X-CSRF-Token (a script's call) or the form field "csrf".
func (s Session) ValidCSRF(r *http.Request) bool {
	token := r.Header.Get("X-CSRF-Token")
	if token == "" {
		token = r.PostFormValue("csrf")
	}
	return equalTokens(token, s.CSRF)
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

// expiry is when s ends under the session lifetimes in force, which an
// admin may change while it lasts.
func (e *Engine) expiry(s Session) time.Time {
	idleFor, maxFor, _ := e.dir.SessionTimes()
	idle, abs := s.LastSeen.Add(idleFor), s.Created.Add(maxFor)
	if idle.Before(abs) {
		return idle
	}
	return abs
}

// startSession issues a new session (a new id, whatever the browser held
// before) for a finished flow.
func (e *Engine) startSession(w http.ResponseWriter, r *http.Request, f Flow) (Session, error) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		_ = e.dir.DeleteState(r.Context(), kindSession, hashToken(c.Value))
	}
	now := e.now().UTC()
	token := randomToken()
	s := Session{ID: hashToken(token), UserID: f.UserID, Created: now, Issued: now, LastSeen: now, AuthTime: now, Methods: f.Methods, CSRF: randomToken()}
	if err := e.dir.PutState(r.Context(), kindSession, s.ID, s, e.expiry(s)); err != nil {
		return Session{}, err
	}
	http.SetCookie(w, e.cookie(sessionCookie, token, e.dir.Settings().SessionMax))
	return s, nil
}

// Session returns the request's live session. A session ends when it is
// idle or old, when its user is gone or disabled, or when the user's
// password changed after it began.
func (e *Engine) Session(w http.ResponseWriter, r *http.Request) (Session, bool) {
	s, _, ok := e.liveSession(w, r)
	return s, ok
}

// liveSession is Session with the session's user, read with it.
func (e *Engine) liveSession(w http.ResponseWriter, r *http.Request) (Session, directory.User, bool) {
	s, u, err := e.requestSession(r)
	switch {
	case errors.Is(err, errNoSessionCookie):
		return Session{}, directory.User{}, false
	case err != nil:
		e.logSessionError(err)
		http.SetCookie(w, e.cookie(sessionCookie, "", -time.Second))
		return Session{}, directory.User{}, false
	}
	return s, u, true
}

// requestSession is the live session r's cookie names.
func (e *Engine) requestSession(r *http.Request) (Session, directory.User, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return Session{}, directory.User{}, errNoSessionCookie
	}
	return e.checkSession(r.Context(), hashToken(c.Value))
}

// logSessionError logs what kept a session from being read, unless it is
// only that there is none (any more).
func (e *Engine) logSessionError(err error) {
	if !errors.Is(err, directory.ErrNotFound) && !errors.Is(err, errSessionEnded) && !errors.Is(err, errNoSessionCookie) {
		e.log.Error("read session", "err", err)
	}
}

var (
	errSessionEnded    = errors.New("session ended")
	errNoSessionCookie = errors.New("no session cookie")
)

// checkSession reads session id with what decides whether it still lives
// (sessionFacts), ends it if not, and notes a busy session's last use.
func (e *Engine) checkSession(ctx context.Context, id string) (Session, directory.User, error) {
	f, err := e.sessionFacts(ctx, id)
	if err != nil {
		return Session{}, directory.User{}, err
	}
	if e.ended(f) {
		_ = e.dir.DeleteState(ctx, kindSession, id)
		return Session{}, directory.User{}, errSessionEnded
	}
	now := e.now().UTC()
	if now.Sub(f.LastSeen) < touchEvery {
		return f.Session, f.user, nil
	}
	s, err := directory.UpdateState(ctx, e.dir, kindSession, id, func(stored *Session) (time.Time, error) {
		stored.LastSeen = now
		return e.expiry(*stored), nil
	})
	return s, f.user, err
}

// sessionFacts reads session id and its facts in one snapshot, or takes
// them from e.sessions when nothing has been written since they were read.
func (e *Engine) sessionFacts(ctx context.Context, id string) (sessionFacts, error) {
	if f, ok := e.sessions.Get(id); ok {
		return f.clone(), nil
	}
	mark := e.sessions.Mark()
	f := sessionFacts{}
	err := e.dir.FreshView(ctx, func(_ context.Context, r directory.Reader) error {
		if err := r.State(kindSession, id, &f.Session); err != nil {
			return err
		}
		return f.read(r)
	})
	if err != nil {
		return sessionFacts{}, err
	}
	f.ID = id
	e.sessions.Put(mark, id, f.clone())
	return f, nil
}

// sessionFacts is a stored session with what decides whether it has ended
// all the same: its user, and when they last signed out everywhere else.
type sessionFacts struct {
	Session
	user      directory.User
	gone      bool // the user is no more
	signedOut time.Time
}

// clone is f with slices of its own, for a caller to change.
func (f sessionFacts) clone() sessionFacts {
	f.Methods, f.user.SSHKeys = slices.Clone(f.Methods), slices.Clone(f.user.SSHKeys)
	return f
}

// read fills in the facts about f.Session from r.
func (f *sessionFacts) read(r directory.Reader) error {
	u, err := r.User(f.UserID)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		f.gone = true
		return nil
	case err != nil:
		return err
	}
	f.user = u
	if err := r.State(kindSignOut, u.ID, &f.signedOut); err != nil && !errors.Is(err, directory.ErrNotFound) {
		return err
	}
	return nil
}

// ended reports whether a stored session has ended all the same: its user
// is gone or disabled, changed their password or was signed out everywhere
// since, or the lifetimes were shortened since it was stored.
func (e *Engine) ended(f sessionFacts) bool {
	switch {
	case f.gone || f.user.Disabled || f.user.PasswordChanged.After(f.AuthTime):
		return true
	case f.signedOut.After(cmp.Or(f.Issued, f.Created)):
		return true
	}
	return !e.now().UTC().Before(e.expiry(f.Session))
}

func (e *Engine) logout(w http.ResponseWriter, r *http.Request) {
	s, ok := e.Session(w, r)
	if !ok {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	if err := r.ParseForm(); err != nil || !equalTokens(r.PostForm.Get("csrf"), s.CSRF) {
		e.showMessage(w, http.StatusForbidden, "Form expired", "This form has expired. Go back, reload the page and try again.")
		return
	}
	if err := e.dir.DeleteState(r.Context(), kindSession, s.ID); err != nil {
		e.fail(w, "end session", err)
		return
	}
	http.SetCookie(w, e.cookie(sessionCookie, "", -time.Second))
	e.showMessage(w, http.StatusOK, "Signed out", "You are signed out of Atrium.")
}

// SignOut ends the request's session, if it has one, and clears its
// cookie: the sign-out another front end asks for (OpenID Connect's
// end_session), after checking the request itself.
func (e *Engine) SignOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		if err := e.dir.DeleteState(r.Context(), kindSession, hashToken(c.Value)); err != nil {
			e.log.Error("signin: end session", "err", err)
		}
	}
	http.SetCookie(w, e.cookie(sessionCookie, "", -time.Second))
}

// Renew records that the user of s proved who they are at t, as a password
// change does: every session that began before the change ends at its next
// request (see checkSession), and s lives on as signed in at t.
func (e *Engine) Renew(ctx context.Context, s Session, t time.Time) error {
	_, err := directory.UpdateState(ctx, e.dir, kindSession, s.ID, func(stored *Session) (time.Time, error) {
		stored.AuthTime, stored.LastSeen = t, t
		return e.expiry(*stored), nil
	})
	return err
}

// EndOtherSessions signs the user of s out everywhere but this browser: the
// user's sessions issued before now end at their next request (see
// checkSession), so do the apps' OpenID Connect tokens, and this browser gets a new token for its session, which
// keeps its sign-in time, methods and end.
func (e *Engine) EndOtherSessions(w http.ResponseWriter, r *http.Request, s Session) error {
	ctx := r.Context()
	now := e.now().UTC()
	// Every session older than the mark ends within SessionMax anyway.
	if err := e.dir.PutState(ctx, kindSignOut, s.UserID, now, now.Add(e.dir.Settings().SessionMax)); err != nil {
		return fmt.Errorf("sign out other sessions: %w", err)
	}
	if err := e.dir.RevokeUserOIDC(ctx, s.UserID); err != nil {
		return fmt.Errorf("revoke OpenID Connect tokens: %w", err)
	}
	old := s.ID
	token := randomToken()
	s.ID, s.Issued, s.LastSeen = hashToken(token), now, now
	if err := e.dir.PutState(ctx, kindSession, s.ID, s, e.expiry(s)); err != nil {
		return fmt.Errorf("reissue session: %w", err)
	}
	if err := e.dir.DeleteState(ctx, kindSession, old); err != nil {
		e.log.Error("signin: drop reissued session", "err", err) // it has ended anyway
	}
	http.SetCookie(w, e.cookie(sessionCookie, token, e.dir.Settings().SessionMax))
	return nil
}

// EndSessions signs the user with this ID out everywhere, as an admin
// does for them: every session of theirs issued before now ends at its
// next request (see checkSession), and every OpenID Connect token of
// theirs now, as when they sign out their other sessions themselves.
func (e *Engine) EndSessions(ctx context.Context, userID string) error {
	now := e.now().UTC()
	if err := e.dir.PutState(ctx, kindSignOut, userID, now, now.Add(e.dir.Settings().SessionMax)); err != nil {
		return fmt.Errorf("sign out everywhere: %w", err)
	}
	if err := e.dir.RevokeUserOIDC(ctx, userID); err != nil {
		return fmt.Errorf("revoke OpenID Connect tokens: %w", err)
	}
	return nil
}

// Sessions lists the sessions that have not ended, newest sign-in first,
// for the admin console: one whose user was since disabled or signed out
// everywhere is left out, though stored until its next request.
func (e *Engine) Sessions(ctx context.Context) ([]Session, error) {
	var live []Session
	err := e.dir.View(ctx, func(_ context.Context, r directory.Reader) error {
		return r.States(kindSession, func(id string, raw json.RawMessage) error {
			f := sessionFacts{}
			if err := json.Unmarshal(raw, &f.Session); err != nil {
				return fmt.Errorf("decode session: %w", err)
			}
			f.ID = id
			if err := f.read(r); err != nil {
				return err
			}
			if !e.ended(f) {
				live = append(live, f.Session)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(live, func(a, b Session) int { return b.AuthTime.Compare(a.AuthTime) })
	return live, nil
}

// EndSession ends the session with this ID (Session.ID) at once.
func (e *Engine) EndSession(ctx context.Context, id string) error {
	return e.dir.DeleteState(ctx, kindSession, id)
}
