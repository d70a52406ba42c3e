package portal

import (
	"context"
	"html/template"
	"net/http"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// The self-service page: what a signed-in user sees at the portal's root.
// Each part lives in its own account_*.go file; packages that own a kind of
// factor (codes, passkeys, push) add their part as an AccountSection.

// AccountSection is one part of the self-service page added by another
// package. Its HTML may load scripts from the portal's own origin; the page
// allows script-src, connect-src, worker-src and manifest-src 'self'.
type AccountSection interface {
	// ID is the section's anchor on the page ("passkeys").
	ID() string
	// Title is the section's heading.
	Title() string
	// NeedsSecureContext reports whether the section only works in a
	// secure context; outside one the page explains why instead of calling
	// Render.
	NeedsSecureContext() bool
	// Render returns the section's body for the user.
	Render(ctx context.Context, a signin.Account) (template.HTML, error)
}

// AddAccountSection adds s to the self-service page, after the list of
// sign-in methods and before app passwords, in the order added.
func (p *Portal) AddAccountSection(s AccountSection) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sections = append(p.sections, s)
}

// accountRoutes adds the self-service page and its forms to mux.
func (p *Portal) accountRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.accountPage)
	mux.HandleFunc("POST /account/password", p.accountChangePassword)
	mux.HandleFunc("POST /account/app-passwords", p.accountCreateAppPassword)
	mux.HandleFunc("POST /account/app-passwords/revoke", p.accountRevokeAppPassword)
	mux.HandleFunc("POST /account/factors/remove", p.accountRemoveFactor)
	mux.HandleFunc("POST /account/sessions/end-others", p.accountEndOtherSessions)
}

// accountNotices are the messages a form's redirect may ask the page to show;
// the query names one, so no text travels in the URL.
var accountNotices = map[string]string{
	"password":     "Your password is changed. Your other sessions are signed out.",
	"app-revoked":  "The app password is revoked. Devices using it can no longer sign in.",
	"factor":       "The sign-in method is removed.",
	"sessions":     "You are signed out everywhere else.",
	"factor-added": "The sign-in method is added.",
}

// accountView is the data of account.html.
type accountView struct {
	signin.Account
	Notice, Error string
	Apps          []accountApp
	AppPasswords  []directory.AppPassword
	SignIns       []accountSignIn
	MFA           accountMFA
	Sections      []accountSectionView
	// Admin: the user may use the admin console.
	Admin bool
}

// accountSectionView is an added section, rendered or replaced by a note.
type accountSectionView struct {
	ID, Title string
	Body      template.HTML
	// Insecure: the section needs a secure context and this is none.
	Insecure bool
	// Broken: the section failed to render (logged).
	Broken bool
}

func (p *Portal) accountPage(w http.ResponseWriter, r *http.Request) {
	a, ok := p.signin.Account(w, r)
	if !ok {
		return
	}
	p.showAccount(w, r, a, http.StatusOK, accountNotices[r.URL.Query().Get("done")], "")
}

// showAccount renders the whole page, with a notice or an error from the
// form just posted.
func (p *Portal) showAccount(w http.ResponseWriter, r *http.Request, a signin.Account, status int, notice, problem string) {
	ctx := r.Context()
	v := accountView{Account: a, Notice: notice, Error: problem, Admin: p.admin != nil && p.admin(ctx, a.User.ID)}
	var err error
	if v.Apps, err = p.accountAppLinks(ctx, a.User); err != nil {
		p.fail(w, "account apps", err)
		return
	}
	if v.AppPasswords, err = p.dir.AppPasswords(ctx, a.User.UID); err != nil {
		p.fail(w, "account app passwords", err)
		return
	}
	if v.SignIns, err = p.accountSignIns(ctx, a.User); err != nil {
		p.fail(w, "account sign-ins", err)
		return
	}
	if v.MFA, err = p.accountMFAState(ctx, a.User); err != nil {
		p.fail(w, "account factors", err)
		return
	}
	v.Sections = p.renderAccountSections(ctx, a)
	p.renderAccount(w, status, "account.html", "Your account", v)
}

func (p *Portal) renderAccountSections(ctx context.Context, a signin.Account) []accountSectionView {
	p.mu.RLock()
	sections := p.sections
	p.mu.RUnlock()
	out := make([]accountSectionView, 0, len(sections))
	for _, s := range sections {
		sv := accountSectionView{ID: s.ID(), Title: s.Title()}
		if s.NeedsSecureContext() && !a.SecureContext {
			sv.Insecure = true
		} else if body, err := s.Render(ctx, a); err != nil {
			p.log.Error("portal: account section", "section", sv.ID, "err", err)
			sv.Broken = true
		} else {
			sv.Body = body
		}
		out = append(out, sv)
	}
	return out
}

// renderAccount renders a self-service page. Its policy allows what the
// sections' scripts need (WebAuthn calls, a service worker, the web app
// manifest), all from the portal's own origin.
func (p *Portal) renderAccount(w http.ResponseWriter, status int, name, title string, data any) {
	w.Header().Set("Content-Security-Policy", web.AppCSP)
	p.pages.Render(w, status, name, web.Page{Title: title, Wide: true, Styles: []string{"/assets/account.css"}, Data: data})
}

// accountError is a refusal of a self-service form, worded for the user.
type accountError struct {
	status  int
	message string
}

func (e *accountError) Error() string { return e.message }

// refuseForm shows the account page again with why the form was refused.
func (p *Portal) refuseForm(w http.ResponseWriter, r *http.Request, a signin.Account, status int, message string) {
	p.showAccount(w, r, a, status, "", message)
}

// auditAccount records a change the user made to their own account.
func (p *Portal) auditAccount(r *http.Request, a signin.Account, detail string) {
	p.dir.Audit(directory.AuditEvent{Kind: "account", Subject: a.User.UID, Remote: web.RemoteAddr(r), Service: "web", Result: directory.ResultOK, Detail: detail})
}
