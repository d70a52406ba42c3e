package console

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// The overview: how much the directory holds, recent failed sign-ins, and
// what an admin should act on.

type overviewView struct {
	Counts   directory.Counts
	Warnings []string
	Failed   []directory.AuditEvent
}

const (
	failedShown  = 10
	failedWindow = 24 * time.Hour
)

func (c *Console) overview(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	var v overviewView
	var err error
	if v.Counts, err = c.dir.Count(ctx); err != nil {
		c.fail(w, "count", err)
		return
	}
	if v.Warnings, err = c.warnings(ctx); err != nil {
		c.fail(w, "warnings", err)
		return
	}
	logins, err := c.dir.AuditEvents(ctx, directory.AuditQuery{Kind: "login", Since: c.now().Add(-failedWindow)})
	if err != nil {
		c.fail(w, "failed sign-ins", err)
		return
	}
	logins = slices.DeleteFunc(logins, func(e directory.AuditEvent) bool { return e.Result == directory.ResultOK })
	slices.Reverse(logins)
	v.Failed = logins[:min(len(logins), failedShown)]
	c.show(w, http.StatusOK, "overview.html", "Overview", view{Admin: a, Section: "overview", Data: v})
}

// warnings lists what an admin should act on: admins without a second
// factor, and an external URL that is not https.
func (c *Console) warnings(ctx context.Context) ([]string, error) {
	var out []string
	if !c.signin.Secure() {
		out = append(out, "The external URL is not https: passwords and session cookies cross the network in clear, and browsers refuse passkeys off this host.")
	}
	var admins []directory.User
	err := c.dir.View(ctx, func(ctx context.Context, r directory.Reader) error {
		seen := map[string]bool{}
		for _, cn := range c.groups {
			g, err := r.GroupByCN(cn)
			if err != nil {
				continue // a named group that does not exist makes no admins
			}
			ids, err := r.EffectiveUserIDs(g.ID)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if u, err := r.User(id); err == nil && !seen[id] {
					seen[id] = true
					admins = append(admins, u)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, u := range admins {
		factors, err := c.dir.Factors(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		if len(factors) == 0 && !u.Disabled {
			out = append(out, "The admin "+u.UID+" has no second factor; they must add one before they can use the console.")
		}
	}
	return out, nil
}
