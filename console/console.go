package console

import (
	"context"
	"embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// Options holds the console's settings; zero values take defaults.
type Options struct {
	// AdminGroups are the groups whose members, directly or through
	// nesting, may use the console (default: admins).
	AdminGroups []string
	// Mail sends invite links to the user's mail address as well (nil:
	// the admin passes the link on alone).
	Mail Mailer
	// Server is this server's listeners, certificate, store and backups,
	// for the device guides and the overview.
	Server Server
	// Settings are the configuration-only settings (those that are not
	// the directory's run-time settings), which the policy page shows
	// read-only.
	Settings []Setting
	Now      func() time.Time
	Logger   *slog.Logger
}

// Console serves the admin pages and the invite pages. Build it with New.
type Console struct {
	dir    *directory.Directory
	signin *signin.Engine
	groups []string
	mail   Mailer
	server Server
	// settingsShown is Options.Settings.
	settingsShown []Setting
	now           func() time.Time
	log           *slog.Logger
	pages         *web.Renderer
	// admins remembers who is an admin until the store is next written.
	admins *directory.Memo[string, bool]
	live   *liveSockets
}

//go:embed web
var pages embed.FS

//go:embed assets
var assets embed.FS

// resumeKind parks a console page behind a sign-in.
const resumeKind = "console"

// New returns the console over dir, whose admins sign in through e.
func New(dir *directory.Directory, e *signin.Engine, opts Options) *Console {
	if len(opts.AdminGroups) == 0 {
		opts.AdminGroups = []string{directory.AdminsGroup}
	}
	if opts.Server.BaseDN == "" {
		opts.Server.BaseDN = DefaultBaseDN
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c := &Console{
		dir: dir, signin: e, groups: opts.AdminGroups, mail: opts.Mail, server: opts.Server, settingsShown: opts.Settings, now: opts.Now, log: opts.Logger,
		pages:  web.NewRenderer(opts.Logger, pages, "web/*.html"),
		admins: directory.NewMemo[string, bool](dir),
		live:   newLiveSockets(),
	}
	e.Resume(resumeKind, c.resume)
	return c
}

// Mount adds the console at /admin/ and the invite pages at /invite/ to
// mux, behind web.Protect.
func (c *Console) Mount(mux *http.ServeMux) {
	admin := http.NewServeMux()
	c.routes(admin)
	mux.Handle("/admin/", web.Protect(admin, c.log))
	mux.Handle("/invite/", web.Protect(http.HandlerFunc(c.invite), c.log))
}

// IsAdmin reports whether the user with this ID may use the console; the
// portal shows its link only to them.
func (c *Console) IsAdmin(ctx context.Context, userID string) bool {
	if ok, known := c.admins.Get(userID); known {
		return ok
	}
	mark := c.admins.Mark()
	ok, err := c.dir.MemberOfAny(ctx, userID, c.groups)
	if err != nil {
		c.log.Error("console: admin check", "err", err)
		return false
	}
	c.admins.Put(mark, userID, ok)
	return ok
}

// resume sends an admin back to the console page that needed the sign-in.
func (c *Console) resume(w http.ResponseWriter, r *http.Request, _ signin.Session, payload json.RawMessage) {
	var path string
	if json.Unmarshal(payload, &path) != nil || !strings.HasPrefix(path, "/admin/") || strings.HasPrefix(path, "/admin//") {
		path = "/admin/"
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

func (c *Console) fail(w http.ResponseWriter, what string, err error) {
	c.pages.Fail(w, "console: "+what, err)
}
