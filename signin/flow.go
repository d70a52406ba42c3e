package signin

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

// Flow is one sign-in in progress. Its id travels in the login page's URL:
// a sealed token while no password was accepted (see pending.go), then a
// random, single-use id under which the store keeps it.
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
	// Expires is when the flow ends: what a step keeps for the flow may
	// end then too.
	Expires time.Time `json:"-"`
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
	// such as a push to their phone; empty means Atrium itself.
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

// Throttled is the refusal to show when err says the directory's backoff
// holds the user back for now (a *directory.ThrottledError), or nil.
func Throttled(err error) *StepError {
	var throttled *directory.ThrottledError
	if !errors.As(err, &throttled) {
		return nil
	}
	return &StepError{Status: http.StatusTooManyRequests, Message: "Too many attempts. Wait " + throttled.RetryAfter.Round(time.Second).String() + " and try again."}
}

const (
	kindFlow = "flow"
	// kindPendingUsed marks a pending flow's token used once its password
	// was accepted, so the token, like a stored flow, serves one sign-in.
	kindPendingUsed = "flow-used"
	browserCookie   = "atrium_browser"
)

// Begin starts a sign-in that resumes parked (nil: go to the self-service page)
// when done. Unless force is set, a valid session skips the sign-in and
// resumes at once.
func (e *Engine) Begin(w http.ResponseWriter, r *http.Request, parked *Parked, force bool) {
	if !force {
		if s, ok := e.Session(w, r); ok {
			e.resume(w, r, s, parked)
			return
		}
	}
	e.startFlow(w, r, Flow{Force: force, Parked: parked})
}

// startFlow binds f to this browser with a fresh CSRF token and sends the
// browser to its first pending step. A flow that knows its user already (a
// step-up) is stored under a new id; any other stays pending (see
// pending.go) until its password is accepted, and counts against the
// client address's limit of new sign-ins.
func (e *Engine) startFlow(w http.ResponseWriter, r *http.Request, f Flow) {
	if f.UserID == "" && !e.flows.allow(web.RemoteAddr(r), e.now()) {
		e.tooManyFlows(w)
		return
	}
	f.Browser = hashToken(e.browserToken(w, r))
	f.CSRF = randomToken()
	f.Created = e.now().UTC()
	var id string
	var err error
	if f.UserID == "" {
		id, err = e.sealPending(f)
	} else {
		id = randomToken()
		err = e.dir.PutState(r.Context(), kindFlow, id, f, e.now().Add(e.cfg.FlowTTL))
	}
	if err != nil {
		e.fail(w, "start flow", err)
		return
	}
	http.Redirect(w, r, "/login?flow="+id, http.StatusSeeOther)
}

// browserToken returns the browser's long-lived random cookie, setting one
// if it has none.
func (e *Engine) browserToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(browserCookie); err == nil && len(c.Value) >= 22 {
		return c.Value
	}
	t := randomToken()
	http.SetCookie(w, e.cookie(browserCookie, t, 400*24*time.Hour))
	// Make the value visible to the rest of this request too.
	r.AddCookie(&http.Cookie{Name: browserCookie, Value: t})
	return t
}

func (e *Engine) cookie(name, value string, maxAge time.Duration) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/",
		MaxAge: int(maxAge / time.Second), HttpOnly: true, Secure: e.Secure(), SameSite: http.SameSiteLaxMode,
	}
}

// loadFlow returns the flow named in the request, bound to this browser.
func (e *Engine) loadFlow(r *http.Request, id string) (*Flow, bool) {
	f, err := e.readFlow(r, id)
	if err != nil {
		return nil, false
	}
	c, err := r.Cookie(browserCookie)
	if err != nil || !equalTokens(hashToken(c.Value), f.Browser) {
		return nil, false
	}
	f.ID = id
	f.Expires = f.Created.Add(e.cfg.FlowTTL)
	return f, true
}

// readFlow reads the pending or stored flow id.
func (e *Engine) readFlow(r *http.Request, id string) (*Flow, error) {
	if isPending(id) {
		return e.openPending(id)
	}
	var f Flow
	if id == "" {
		return nil, directory.ErrNotFound
	}
	if err := e.dir.State(r.Context(), kindFlow, id, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

func (e *Engine) loginPage(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("flow")
	if id == "" {
		e.Begin(w, r, nil, false)
		return
	}
	f, ok := e.loadFlow(r, id)
	if !ok {
		e.expired(w)
		return
	}
	e.advance(w, r, f, nil)
}

func (e *Engine) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		e.showMessage(w, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return
	}
	f, ok := e.loadFlow(r, r.PostForm.Get("flow"))
	if !ok {
		e.expired(w)
		return
	}
	if !equalTokens(r.PostForm.Get("csrf"), f.CSRF) {
		e.showMessage(w, http.StatusForbidden, "Form expired", "This form has expired. Go back, reload the page and try again.")
		return
	}
	step, err := e.pendingStep(r.Context(), f)
	if err != nil {
		e.fail(w, "flow step", err)
		return
	}
	if step == nil || step.Name() != r.PostForm.Get("step") {
		http.Redirect(w, r, "/login?flow="+f.ID, http.StatusSeeOther)
		return
	}
	if err := step.Submit(r.Context(), r, f); err != nil {
		var se *StepError
		if !errors.As(err, &se) {
			e.fail(w, "flow step "+step.Name(), err)
			return
		}
		e.advance(w, r, f, se)
		return
	}
	id, err := e.saveFlow(r.Context(), f)
	if errors.Is(err, directory.ErrUnavailable) {
		e.fail(w, "save flow", err) // 503: the store takes no writes now
		return
	}
	if err != nil {
		e.expired(w)
		return
	}
	http.Redirect(w, r, "/login?flow="+id, http.StatusSeeOther)
}

// saveFlow records what a step proved and returns the flow's id. A pending
// flow whose password was just accepted is stored now, under a fresh id
// that its token cannot be turned into again.
func (e *Engine) saveFlow(ctx context.Context, f *Flow) (string, error) {
	if isPending(f.ID) {
		expires := f.Created.Add(e.cfg.FlowTTL)
		if err := e.dir.ClaimOnce(ctx, kindPendingUsed, hashToken(f.ID), expires); err != nil {
			return "", err
		}
		id := randomToken()
		return id, e.dir.PutState(ctx, kindFlow, id, *f, expires)
	}
	_, err := directory.UpdateState(ctx, e.dir, kindFlow, f.ID, func(stored *Flow) (time.Time, error) {
		stored.UserID, stored.Methods = f.UserID, f.Methods
		return stored.Created.Add(e.cfg.FlowTTL), nil
	})
	return f.ID, err
}

// advance shows the first pending step, or finishes the flow.
func (e *Engine) advance(w http.ResponseWriter, r *http.Request, f *Flow, refusal *StepError) {
	step, err := e.pendingStep(r.Context(), f)
	if err != nil {
		e.fail(w, "flow step", err)
		return
	}
	if step == nil {
		e.finish(w, r, f)
		return
	}
	tmpl, data, err := step.Form(r, f)
	if err != nil {
		e.fail(w, "flow form", err)
		return
	}
	status, pg := http.StatusOK, web.Page{Title: "Sign in", Data: stepData{Flow: f.ID, CSRF: f.CSRF, Step: step.Name(), Data: data}}
	if refusal != nil {
		status, pg.Error = refusal.Status, refusal.Message
	}
	// Second factors run scripts: a passkey prompt, waiting for a push.
	w.Header().Set("Content-Security-Policy", web.ScriptCSP)
	e.pages.Render(w, status, tmpl, pg)
}

type stepData struct {
	Flow, CSRF, Step string
	Data             any
}

func (e *Engine) pendingStep(ctx context.Context, f *Flow) (Step, error) {
	e.mu.RLock()
	steps := e.steps
	e.mu.RUnlock()
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
func (e *Engine) finish(w http.ResponseWriter, r *http.Request, f *Flow) {
	var done Flow
	err := directory.ErrNotFound
	if !isPending(f.ID) {
		err = e.dir.TakeState(r.Context(), kindFlow, f.ID, &done)
	}
	if errors.Is(err, directory.ErrUnavailable) {
		e.fail(w, "take flow", err)
		return
	}
	if err != nil {
		e.expired(w)
		return
	}
	s, err := e.startSession(w, r, done)
	if err != nil {
		e.fail(w, "start session", err)
		return
	}
	e.resume(w, r, s, done.Parked)
}

func (e *Engine) resume(w http.ResponseWriter, r *http.Request, s Session, parked *Parked) {
	if parked == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	e.mu.RLock()
	c := e.continuations[parked.Kind]
	e.mu.RUnlock()
	if c == nil {
		e.fail(w, "resume", errors.New("no continuation for "+parked.Kind))
		return
	}
	c(w, r, s, parked.Payload)
}

func (e *Engine) expired(w http.ResponseWriter) {
	e.showMessage(w, http.StatusBadRequest, "Sign-in expired", "This sign-in has expired or was already used. Go back to the application and start again.")
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
	if refusal := Throttled(err); refusal != nil {
		return refusal
	}
	if err != nil {
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
