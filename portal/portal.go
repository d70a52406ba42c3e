package portal

import (
	"context"
	"embed"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// Options holds the portal's clock and logger; zero values take defaults.
type Options struct {
	Now    func() time.Time
	Logger *slog.Logger
	// IsAdmin reports whether a user may use the admin console, whose link
	// the page shows only to them (nil: no one).
	IsAdmin func(ctx context.Context, userID string) bool
}

// Portal serves the self-service pages of signed-in users. Build it with
// New.
type Portal struct {
	dir    *directory.Directory
	signin *signin.Engine
	now    func() time.Time
	log    *slog.Logger
	pages  *web.Renderer
	admin  func(ctx context.Context, userID string) bool

	mu       sync.RWMutex
	sections []AccountSection
}

//go:embed web
var pages embed.FS

// New returns the self-service pages over dir, whose users sign in through
// e.
func New(dir *directory.Directory, e *signin.Engine, opts Options) *Portal {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Portal{
		dir: dir, signin: e, now: opts.Now, log: opts.Logger, admin: opts.IsAdmin,
		pages: web.NewRenderer(opts.Logger, pages, "web/*.html"),
	}
}

// Handler serves the self-service page at / and its forms under /account/.
// The sign-in pages it sends users to are the engine's (signin.Engine.Mount).
func (p *Portal) Handler() http.Handler {
	mux := http.NewServeMux()
	p.accountRoutes(mux)
	return web.Protect(mux, p.log)
}

func (p *Portal) fail(w http.ResponseWriter, what string, err error) {
	p.pages.Fail(w, "portal: "+what, err)
}
