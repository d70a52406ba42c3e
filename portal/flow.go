package portal

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/web"
)

// Flow is one sign-in in progress, kept in the store under a random,
// single-use id that travels in the login page's URL.
type Flow struct {
	ID string `json:"-"`
	// Browser is the hash of the browser cookie the flow is bound to, so a
	// flow link handed to someone else is useless to them.
	Browser string `json:"browser"`
	CSRF    string `json:"csrf"`
	// UserID is set once a step has identified the user.
	UserID string `json:"user,omitempty"`
	// Methods are the RFC 8176 "amr" values proven so far ("pwd", ...).
	Methods []string `json:"methods,omitempty"`
	// Force asks for a fresh sign-in even when a session exists.
	Force   bool      `json:"force,omitempty"`
	Parked  *Parked   `json:"parked,omitempty"`
	Created time.Time `json:"created"`
}

// Proved records that the flow's user proved method.
func (f *Flow) Proved(method string) {
	if !slices.Contains(f.Methods, method) {
		f.Methods = append(f.Methods, method)
	}
}

// Parked is work waiting for the sign-in: the continuation registered for
// Kind gets Payload back.
type Parked struct {
	Kind    string          `json:"kind"`
	Payload json.RawMessage `json:"payload"`
	// RequireMFA says the work needs a second factor (an app that requires
	// MFA): a user without one is taken through enrollment first.
	RequireMFA bool `json:"mfa,omitempty"`
	// App names the application the user is signing in to, for prompts
	// such as a push to their phone; empty means the portal itself.
	App string `json:"app,omitempty"`
}

// AppName is what the user is signing in to, as a prompt names it.
func (f *Flow) AppName() string {
	if f.Parked == nil || f.Parked.App == "" {
		return "Atrium"
	}
	return f.Parked.App
}

// Step is one stage of signing in. Steps run in order; each one that is
// pending shows its form until its Submit succeeds.
type Step interface {
	// Name identifies the step in forms.
	Name() string
	// Pending reports whether f still needs this step.
	Pending(ctx context.Context, f *Flow) (bool, error)
	// Form returns the template to show and its data; r is the request
	// that shows it.
	Form(r *http.Request, f *Flow) (template string, data any, err error)
	// Submit checks the posted form and records in f what it proved. A
	// *StepError is shown to the user on the form again.
	Submit(ctx context.Context, r *http.Request, f *Flow) error
}

// StepError is a refusal the user may read, with the HTTP status to send.
type StepError struct {
	Status  int
	Message string
}

func (e *StepError) Error() string { return e.Message }

const (
	kindFlow      = "flow"
	browserCookie = "atrium_browser"
)

// Begin starts a sign-in that resumes parked (nil: go to the portal home)
// when done. Unless force is set, a valid session skips the sign-in and
// resumes at once.
func (p *Portal) Begin(w http.ResponseWriter, r *http.Request, parked *Parked, force bool) {
	if !force {
		if s, ok := p.Session(w, r); ok {
			p.resume(w, r, s, parked)
			return
		}
	}
	p.startFlow(w, r, Flow{Force: force, Parked: parked})
}

// startFlow stores f, bound to this browser with a fresh CSRF token, under
// a new id and sends the browser to its first pending step.
func (p *Portal) startFlow(w http.ResponseWriter, r *http.Request, f Flow) {
	f.Browser = hashToken(p.browserToken(w, r))
	f.CSRF = randomToken()
	f.Created = p.now().UTC()
	id := randomToken()
	if err := p.dir.PutState(r.Context(), kindFlow, id, f, p.now().Add(p.cfg.FlowTTL)); err != nil {
		p.fail(w, "store flow", err)
		return
	}
	http.Redirect(w, r, "/login?flow="+id, http.StatusSeeOther)
}

// browserToken returns the browser's long-lived random cookie, setting one
// if it has none.
func (p *Portal) browserToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(browserCookie); err == nil && len(c.Value) >= 22 {
		return c.Value
	}
	t := randomToken()
	http.SetCookie(w, p.cookie(browserCookie, t, 400*24*time.Hour))
	// Make the value visible to the rest of this request too.
	r.AddCookie(&http.Cookie{Name: browserCookie, Value: t})
	return t
}

func (p *Portal) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/",
		MaxAge: int(maxAge / time.Second), HttpOnly: true, Secure: p.Secure(), SameSite: http.SameSiteLaxMode,
	}
}

// loadFlow returns the flow named in the request, bound to this browser.
func (p *Portal) loadFlow(r *http.Request, id string) (*Flow, bool) {
	var f Flow
	if id == "" || p.dir.State(r.Context(), kindFlow, id, &f) != nil {
		return nil, false
	}
	c, err := r.Cookie(browserCookie)
	if err != nil || !equalTokens(hashToken(c.Value), f.Browser) {
		return nil, false
	}
	f.ID = id
	return &f, true
}

func (p *Portal) loginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("flow")
	if id == "" {
		p.Begin(w, r, nil, false)
		return
	}
	f, ok := p.loadFlow(r, id)
	if !ok {
		p.expired(w)
		return
	}
	p.advance(w, r, f, nil)
}

func (p *Portal) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.ShowMessage(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	f, ok := p.loadFlow(r, r.PostForm.Get("flow"))
	if !ok {
		p.expired(w)
		return
	}
	if !equalTokens(r.PostForm.Get("csrf"), f.CSRF) {
		p.ShowMessage(w, http.StatusForbidden, "Form expired", "This form has expired. Go back, reload the page and try again.")
		return
	}
	step, err := p.pendingStep(r.Context(), f)
	if err != nil {
		p.fail(w, "flow step", err)
		return
	}
	if step == nil || step.Name() != r.PostForm.Get("step") {
		http.Redirect(w, r, "/login?flow="+f.ID, http.StatusSeeOther)
		return
	}
	if err := step.Submit(r.Context(), r, f); err != nil {
		var se *StepError
		if !errors.As(err, &se) {
			p.fail(w, "flow step "+step.Name(), err)
			return
		}
		p.advance(w, r, f, se)
		return
	}
	_, err = directory.UpdateState(r.Context(), p.dir, kindFlow, f.ID, func(stored *Flow) (time.Time, error) {
		stored.UserID, stored.Methods = f.UserID, f.Methods
		return stored.Created.Add(p.cfg.FlowTTL), nil
	})
	if err != nil {
		p.expired(w)
		return
	}
	http.Redirect(w, r, "/login?flow="+f.ID, http.StatusSeeOther)
}

// advance shows the first pending step, or finishes the flow.
func (p *Portal) advance(w http.ResponseWriter, r *http.Request, f *Flow, refusal *StepError) {
	step, err := p.pendingStep(r.Context(), f)
	if err != nil {
		p.fail(w, "flow step", err)
		return
	}
	if step == nil {
		p.finish(w, r, f)
		return
	}
	tmpl, data, err := step.Form(r, f)
	if err != nil {
		p.fail(w, "flow form", err)
		return
	}
	status, pg := http.StatusOK, web.Page{Title: "Sign in", Data: stepData{Flow: f.ID, CSRF: f.CSRF, Step: step.Name(), Data: data}}
	if refusal != nil {
		status, pg.Error = refusal.Status, refusal.Message
	}
	// Second factors run scripts: a passkey prompt, waiting for a push.
	w.Header().Set("Content-Security-Policy", web.ScriptCSP)
	p.showPage(w, status, tmpl, pg)
}

type stepData struct {
	Flow, CSRF, Step string
	Data             any
}

func (p *Portal) pendingStep(ctx context.Context, f *Flow) (Step, error) {
	p.mu.RLock()
	steps := p.steps
	p.mu.RUnlock()
	for _, s := range steps {
		pending, err := s.Pending(ctx, f)
		if err != nil {
			return nil, err
		}
		if pending {
			return s, nil
		}
	}
	return nil, nil
}

// finish consumes the flow, issues a new session and resumes the parked
// work.
func (p *Portal) finish(w http.ResponseWriter, r *http.Request, f *Flow) {
	var done Flow
	if err := p.dir.TakeState(r.Context(), kindFlow, f.ID, &done); err != nil {
		p.expired(w)
		return
	}
	s, err := p.startSession(w, r, done)
	if err != nil {
		p.fail(w, "start session", err)
		return
	}
	p.resume(w, r, s, done.Parked)
}

func (p *Portal) resume(w http.ResponseWriter, r *http.Request, s Session, parked *Parked) {
	if parked == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	p.mu.RLock()
	c := p.continuations[parked.Kind]
	p.mu.RUnlock()
	if c == nil {
		p.fail(w, "resume", errors.New("no continuation for "+parked.Kind))
		return
	}
	c(w, r, s, parked.Payload)
}

func (p *Portal) expired(w http.ResponseWriter) {
	p.ShowMessage(w, http.StatusBadRequest, "Sign-in expired", "This sign-in has expired or was already used. Go back to the application and start again.")
}

func (p *Portal) fail(w http.ResponseWriter, what string, err error) {
	p.log.Error("portal: "+what, "err", err)
	p.ShowMessage(w, http.StatusInternalServerError, "Something went wrong", "Something went wrong on our side. Try again in a moment.")
}

// passwordStep identifies the user by uid or mail and checks the password
// through the directory, which applies backoff and audits the attempt.
type passwordStep struct{ dir *directory.Directory }

func (passwordStep) Name() string { return "password" }

func (passwordStep) Pending(_ context.Context, f *Flow) (bool, error) {
	return f.UserID == "", nil
}

func (passwordStep) Form(*http.Request, *Flow) (string, any, error) {
	return "login.html", nil, nil
}

func (s passwordStep) Submit(ctx context.Context, r *http.Request, f *Flow) error {
	principal, err := s.dir.Authenticate(ctx, directory.Login{
		Kind:     directory.KindUser,
		Name:     r.PostForm.Get("username"),
		Password: r.PostForm.Get("password"),
		Remote:   web.RemoteAddr(r),
		Service:  "web",
	})
	var throttled *directory.ThrottledError
	switch {
	case errors.As(err, &throttled):
		return &StepError{Status: http.StatusTooManyRequests, Message: "Too many attempts. Wait " + throttled.RetryAfter.Round(time.Second).String() + " and try again."}
	case err != nil:
		return &StepError{Status: http.StatusUnauthorized, Message: "The username or password is incorrect."}
	}
	f.UserID = principal.User.ID
	f.Proved("pwd")
	return nil
}

func randomToken() string {
	b := make([]byte, 24)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

func equalTokens(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
