package portal

import (
	"net/http"
)

// accountEndOtherSessions signs the user out everywhere but this browser:
// the user's sessions issued before now end at their next request (see
// checkSession), and this browser gets a new token for its session, which
// keeps its sign-in time, methods and end.
func (p *Portal) accountEndOtherSessions(w http.ResponseWriter, r *http.Request) {
	a, ok := p.Account(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	now := p.now().UTC()
	// Every session older than the mark ends within SessionMax anyway.
	if err := p.dir.PutState(ctx, kindSignOut, a.User.ID, now, now.Add(p.cfg.SessionMax)); err != nil {
		p.fail(w, "sign out other sessions", err)
		return
	}
	s := a.Session
	token := randomToken()
	s.ID, s.Issued, s.LastSeen = hashToken(token), now, now
	if err := p.dir.PutState(ctx, kindSession, s.ID, s, p.expiry(s)); err != nil {
		p.fail(w, "reissue session", err)
		return
	}
	if err := p.dir.DeleteState(ctx, kindSession, a.Session.ID); err != nil {
		p.log.Error("portal: drop reissued session", "err", err) // it has ended anyway
	}
	http.SetCookie(w, p.cookie(sessionCookie, token, p.cfg.SessionMax))
	p.auditAccount(r, a, "signed out other sessions")
	http.Redirect(w, r, "/?done=sessions#sign-ins", http.StatusSeeOther)
}
