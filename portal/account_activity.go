package portal

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// accountSignIn is one line of the user's recent sign-ins.
type accountSignIn struct {
	Time    time.Time
	Remote  string
	App     string
	Method  string
	OK      bool
	Outcome string
}

const (
	// accountSignInsShown is how many recent sign-ins the page lists.
	accountSignInsShown = 20
	// accountSignInsWindow bounds the audit log scan.
	accountSignInsWindow = 30 * 24 * time.Hour
)

// accountSignIns reads the user's newest logins, second factors and app
// sign-ins from the audit log. Logins are recorded under the name typed,
// so both the uid and the mail address are looked up.
func (p *Portal) accountSignIns(ctx context.Context, u directory.User) ([]accountSignIn, error) {
	since := p.now().Add(-accountSignInsWindow)
	var events []directory.AuditEvent
	for _, subject := range []string{u.UID, u.Mail} {
		if subject == "" {
			continue
		}
		found, err := p.dir.AuditEvents(ctx, directory.AuditQuery{Subject: subject, Since: since})
		if err != nil {
			return nil, err
		}
		events = append(events, found...)
	}
	events = slices.DeleteFunc(events, func(e directory.AuditEvent) bool { return !accountIsSignIn(e) })
	slices.SortStableFunc(events, func(a, b directory.AuditEvent) int { return b.Time.Compare(a.Time) })
	if len(events) > accountSignInsShown {
		events = events[:accountSignInsShown]
	}
	out := make([]accountSignIn, 0, len(events))
	for _, e := range events {
		out = append(out, accountSignIn{
			Time: e.Time, Remote: e.Remote, App: accountServiceName(e.Service), Method: accountMethodName(e),
			OK: e.Result == directory.ResultOK, Outcome: accountOutcome(e),
		})
	}
	return out, nil
}

// accountIsSignIn tells sign-in attempts from the rest of the user's audit
// trail (enrollments, removals, account changes).
func accountIsSignIn(e directory.AuditEvent) bool {
	switch e.Kind {
	case "login", "assertion":
		return true
	case "mfa":
		switch e.Result {
		case directory.ResultEnrolled, directory.ResultRemoved, directory.ResultReset:
			return false
		}
		return e.Detail != "totp-enroll"
	}
	return false
}

// accountServiceName names a front end the way a user knows it.
func accountServiceName(service string) string {
	switch {
	case service == "web":
		return "Atrium sign-in page"
	case service == "account":
		return "Password check on this page"
	case service == "ldap":
		return "Device or server (LDAP)"
	case service == "push":
		return "Phone"
	case strings.HasPrefix(service, "saml:"), strings.HasPrefix(service, "oidc:"):
		return service[len("saml:"):]
	case service == "":
		return "Unknown"
	}
	return service
}

// accountMethodName says how the user proved who they are, from the event's
// detail: the login method, or the assertion's amr list.
func accountMethodName(e directory.AuditEvent) string {
	detail := e.Detail
	if e.Kind == "assertion" {
		detail = ""
		for f := range strings.FieldsSeq(e.Detail) {
			if v, ok := strings.CutPrefix(f, "amr="); ok {
				detail = v
			}
		}
		if detail == "" {
			return "Session"
		}
		names := []string{}
		for m := range strings.SplitSeq(detail, ",") {
			if m != "mfa" {
				names = append(names, accountAMRName(m))
			}
		}
		return strings.Join(names, " + ")
	}
	switch {
	case detail == directory.MethodPassword, detail == "" && e.Kind == "login":
		return "Password"
	case strings.HasPrefix(detail, "app-password:"):
		return "App password " + strings.TrimPrefix(detail, "app-password:")
	case e.Service == "push":
		return accountAMRName("push")
	case strings.HasPrefix(detail, "passkey"):
		return accountAMRName("passkey")
	}
	return accountAMRName(detail)
}

// accountAMRName names an RFC 8176 method.
func accountAMRName(m string) string {
	switch m {
	case "pwd":
		return "Password"
	case "otp", "totp":
		return "Authenticator code"
	case "hwk", "swk", "passkey":
		return "Passkey"
	case "push", "mca":
		return "Phone approval"
	case "recovery":
		return "Recovery code"
	}
	return m
}

// accountOutcome words an event's result for the user. A phone approval
// goes through several events (sent, answered), which its detail tells
// apart.
func accountOutcome(e directory.AuditEvent) string {
	if what, _, _ := strings.Cut(e.Detail, ";"); e.Service == "push" && what != "" {
		return strings.ToUpper(what[:1]) + what[1:]
	}
	switch e.Result {
	case directory.ResultOK:
		return "Succeeded"
	case directory.ResultBadPassword:
		return "Wrong password"
	case directory.ResultNoSuchUser:
		return "Unknown user"
	case directory.ResultDisabled:
		return "Account disabled"
	case directory.ResultThrottled:
		return "Too many attempts"
	case directory.ResultNoPassword:
		return "No password given"
	case directory.ResultBadCode:
		return "Wrong code"
	}
	return "Refused (" + e.Result + ")"
}

// accountApp is an app the user may open.
type accountApp struct {
	Name string
	// URL opens the app: Atrium's IdP-initiated launch, else the app's
	// launch URL; empty when the app can only be opened from its own page.
	URL string
}

// accountAppLinks lists the apps whose groups let the user in.
func (p *Portal) accountAppLinks(ctx context.Context, u directory.User) ([]accountApp, error) {
	apps, err := p.dir.ListApps(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := p.dir.EffectiveGroups(ctx, u.UID)
	if err != nil {
		return nil, err
	}
	member := func(cn string) bool {
		return slices.ContainsFunc(groups, func(g directory.Group) bool { return strings.EqualFold(g.CN, cn) })
	}
	var out []accountApp
	for _, app := range apps {
		if len(app.Groups) > 0 && !slices.ContainsFunc(app.Groups, member) {
			continue
		}
		l := accountApp{Name: app.Name}
		switch {
		case app.IdPInitiated:
			l.URL = p.signin.URL("/saml/launch/" + url.PathEscape(app.Name))
		case accountWebURL(app.LaunchURL):
			l.URL = app.LaunchURL
		}
		out = append(out, l)
	}
	return out, nil
}

func accountWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
