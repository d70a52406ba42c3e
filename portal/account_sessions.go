package portal

import (
	"net/http"
)

// accountEndOtherSessions signs the user out everywhere but this browser.
func (p *Portal) accountEndOtherSessions(w http.ResponseWriter, r *http.Request) {
	a, ok := p.signin.Account(w, r)
	if !ok {
		return
	}
	if err := p.signin.EndOtherSessions(w, r, a.Session); err != nil {
		p.fail(w, "end other sessions", err)
		return
	}
	p.auditAccount(r, a, "signed out other sessions")
	http.Redirect(w, r, "/?done=sessions#sign-ins", http.StatusSeeOther)
}
