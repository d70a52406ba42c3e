package portal

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

// Config holds the portal's settings; zero durations take defaults.
type Config struct {
	// ExternalURL is where users reach Atrium; https makes cookies Secure.
	ExternalURL *url.URL
	// SessionIdle ends a session unused for this long (default 30 min).
	SessionIdle time.Duration
	// SessionMax ends a session this long after sign-in (default 12 h).
	SessionMax time.Duration
	// FlowTTL is how long a sign-in may take (default 15 min).
	FlowTTL time.Duration
	// RecentSignIn is how long after signing in a user may change how they
	// sign in (factors, recovery codes, app passwords) without signing in
	// again (default 15 min), as GitHub's sudo mode or Keycloak's
	// max_age do for sensitive actions.
	RecentSignIn time.Duration
}

func (c Config) withDefaults() Config {
	if c.ExternalURL == nil {
		c.ExternalURL = &url.URL{Scheme: "http", Host: "localhost:8080"}
	}
	if c.SessionIdle <= 0 {
		c.SessionIdle = 30 * time.Minute
	}
	if c.SessionMax <= 0 {
		c.SessionMax = 12 * time.Hour
	}
	if c.FlowTTL <= 0 {
		c.FlowTTL = 15 * time.Minute
	}
	if c.RecentSignIn <= 0 {
		c.RecentSignIn = 15 * time.Minute
	}
	return c
}

// Continuation resumes the work parked in a flow once the user is signed
// in. It writes the whole response.
type Continuation func(w http.ResponseWriter, r *http.Request, s Session, payload json.RawMessage)

// Portal serves the sign-in pages and owns sessions. Build it with New.
type Portal struct {
	dir *directory.Directory
	now func() time.Time
	log *slog.Logger
	cfg Config

	mu            sync.RWMutex
	continuations map[string]Continuation
	steps         []Step
	mfa           mfaFactors
	sections      []AccountSection
	pages         *web.Renderer
}

// New returns a portal over dir. now is the clock (time.Now in production).
func New(dir *directory.Directory, cfg Config, now func() time.Time, log *slog.Logger) *Portal {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Portal{
		dir: dir, now: now, log: log, cfg: cfg.withDefaults(),
		continuations: map[string]Continuation{},
		steps:         []Step{passwordStep{dir: dir}},
		pages:         web.NewRenderer(log, pages, "web/*.html"),
	}
	p.steps = append(p.steps, p.mfaSteps()...)
	return p
}

// Resume registers the continuation for flows parked with kind.
func (p *Portal) Resume(kind string, c Continuation) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.continuations[kind] = c
}

// AddStep appends a sign-in step, run after the existing ones.
func (p *Portal) AddStep(s Step) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.steps = append(p.steps, s)
}

// Secure reports whether cookies are marked Secure (an https external URL).
func (p *Portal) Secure() bool { return p.cfg.ExternalURL.Scheme == "https" }

// URL returns the absolute external URL of path.
func (p *Portal) URL(path string) string {
	u := *p.cfg.ExternalURL
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	return u.String()
}

// Handler serves the portal's pages: / (the self-service page) and its
// forms under /account/, /login, /logout and /assets/.
func (p *Portal) Handler() http.Handler {
	mux := http.NewServeMux()
	p.accountRoutes(mux)
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", p.loginSubmit)
	mux.HandleFunc("POST /logout", p.logout)
	mux.Handle("GET /assets/", web.Assets())
	return web.Protect(mux, p.log)
}

//go:embed web
var pages embed.FS

// showPage renders one of the portal's pages with status, inside the shared
// layout.
func (p *Portal) showPage(w http.ResponseWriter, status int, name string, pg web.Page) {
	p.pages.Render(w, status, name, pg)
}

// ShowMessage answers with a plain page: a title and one sentence.
func (p *Portal) ShowMessage(w http.ResponseWriter, status int, title, message string) {
	p.pages.Message(w, status, title, message)
}
