package signin

import (
	"embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/web"
)

// Options holds the engine's settings; zero values take defaults. The
// session lifetimes and how recent a sign-in a change needs are the
// directory's run-time settings (web.session_idle, web.session_max,
// web.recent_sign_in), read at each use so that an admin's change
// applies at once.
type Options struct {
	// ExternalURL is where users reach Atrium; https makes cookies Secure.
	ExternalURL *url.URL
	// FlowTTL is how long a sign-in may take (default 15 min).
	FlowTTL time.Duration
	// FlowsPerMinute caps the sign-ins one client address may start
	// before giving a password (default 120, with as many at once).
	FlowsPerMinute int
	// Now is the clock (default time.Now).
	Now    func() time.Time
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.ExternalURL == nil {
		o.ExternalURL = &url.URL{Scheme: "http", Host: "localhost:8080"}
	}
	if o.FlowTTL <= 0 {
		o.FlowTTL = 15 * time.Minute
	}
	if o.FlowsPerMinute <= 0 {
		o.FlowsPerMinute = 120
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Continuation resumes the work parked in a flow once the user is signed
// in. It writes the whole response.
type Continuation func(w http.ResponseWriter, r *http.Request, s Session, payload json.RawMessage)

// Engine runs sign-in flows and owns sessions. Build it with New.
type Engine struct {
	dir   *directory.Directory
	now   func() time.Time
	log   *slog.Logger
	cfg   Options
	pages *web.Renderer

	mu            sync.RWMutex
	continuations map[string]Continuation
	steps         []Step
	mfa           mfaFactors
	flows         *flowLimiter
	// sessions remembers checked sessions' facts until the store is next
	// written, so a busy page skips the read.
	sessions *directory.Memo[string, sessionFacts]
	// secureContext is SecureContext, worked out once.
	secureContext bool
}

//go:embed web
var pages embed.FS

// New returns the sign-in engine over dir.
func New(dir *directory.Directory, opts Options) *Engine {
	opts = opts.withDefaults()
	e := &Engine{
		dir: dir, now: opts.Now, log: opts.Logger, cfg: opts,
		pages:         web.NewRenderer(opts.Logger, pages, "web/*.html"),
		continuations: map[string]Continuation{},
		steps:         []Step{passwordStep{dir: dir}},
		flows:         &flowLimiter{perMinute: opts.FlowsPerMinute},
		sessions:      directory.NewMemo[string, sessionFacts](dir),
		secureContext: secureContext(opts.ExternalURL),
	}
	e.steps = append(e.steps, e.mfaSteps()...)
	return e
}

// Resume registers the continuation for flows parked with kind.
func (e *Engine) Resume(kind string, c Continuation) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.continuations[kind] = c
}

// AddStep appends a sign-in step, run after the existing ones.
func (e *Engine) AddStep(s Step) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.steps = append(e.steps, s)
}

// FlowTTL is how long a sign-in may take, and so how long a request
// parked in one may wait for its answer.
func (e *Engine) FlowTTL() time.Duration { return e.cfg.FlowTTL }

// Secure reports whether cookies are marked Secure (an https external URL).
func (e *Engine) Secure() bool { return e.cfg.ExternalURL.Scheme == "https" }

// URL returns the absolute external URL of path.
func (e *Engine) URL(path string) string {
	u := *e.cfg.ExternalURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	return u.String()
}

// Mount adds the sign-in pages to mux, behind web.Protect: /login,
// /logout, /account/sign-in-again and the shared /assets/.
func (e *Engine) Mount(mux *http.ServeMux) {
	mux.Handle("GET /login", web.Protect(http.HandlerFunc(e.loginPage), e.log))
	mux.Handle("POST /login", web.Protect(http.HandlerFunc(e.loginSubmit), e.log))
	mux.Handle("POST /logout", web.Protect(http.HandlerFunc(e.logout), e.log))
	mux.Handle("GET /account/sign-in-again", web.Protect(http.HandlerFunc(e.signInAgain), e.log))
	mux.Handle("GET /assets/", web.Protect(web.Assets(), e.log))
}

// signInAgain starts a fresh sign-in that returns to the self-service page.
func (e *Engine) signInAgain(w http.ResponseWriter, r *http.Request) {
	e.Begin(w, r, nil, true)
}

// showMessage answers with a plain page: a title and one sentence.
func (e *Engine) showMessage(w http.ResponseWriter, status int, title, message string) {
	e.pages.Message(w, status, title, message)
}

func (e *Engine) fail(w http.ResponseWriter, what string, err error) {
	e.pages.Fail(w, "signin: "+what, err)
}
