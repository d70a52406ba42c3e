package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-dir/atrium/backup"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/progress"
	"github.com/atrium-dir/atrium/ldif"
)

// env is what a subcommand runs with, in the command process or in the
// server that answered on the admin socket.
type env struct {
	ctx context.Context
	dir *directory.Directory
	out io.Writer
	inv *invocation
	cfg Config
	// progress is where long commands draw their progress line: standard
	// error when the command runs here, nil (quiet) when a server runs it.
	progress *os.File
}

type command struct {
	name    string
	usage   string
	flags   []string // "name" takes a value, "name!" is boolean, "name*" repeats
	minArgs int
	maxArgs int // -1: any
	// password says the command sets a password, read before it runs.
	password *struct{}
	fn       func(*env) error
}

var takesPassword = &struct{}{}

var commands = []*command{
	{name: "user add", usage: "user add UID --mail M [--given G] [--sn S] [--name N] [--uid-number N] [--group CN | --gid-number N] [--shell SH] [--home DIR] [--password-stdin]",
		flags: []string{"mail", "given", "sn", "name", "uid-number", "group", "gid-number", "shell", "home", "password-stdin!"}, minArgs: 1, maxArgs: 1, password: takesPassword, fn: userAdd},
	{name: "user list", usage: "user list", fn: userList},
	{name: "user show", usage: "user show UID", minArgs: 1, maxArgs: 1, fn: userShow},
	{name: "user passwd", usage: "user passwd UID [--password-stdin]", flags: []string{"password-stdin!"}, minArgs: 1, maxArgs: 1, password: takesPassword, fn: userPasswd},
	{name: "user disable", usage: "user disable UID", minArgs: 1, maxArgs: 1, fn: func(e *env) error { return userSetDisabled(e, true) }},
	{name: "user enable", usage: "user enable UID", minArgs: 1, maxArgs: 1, fn: func(e *env) error { return userSetDisabled(e, false) }},
	{name: "user delete", usage: "user delete UID", minArgs: 1, maxArgs: 1, fn: userDelete},
	{name: "user rename", usage: "user rename OLD NEW", minArgs: 2, maxArgs: 2, fn: userRename},
	{name: "user set-group", usage: "user set-group UID [CN] (without CN: the user's private group)", minArgs: 1, maxArgs: 2, fn: userSetGroup},
	{name: "user mfa list", usage: "user mfa list UID", minArgs: 1, maxArgs: 1, fn: userMFAList},
	{name: "user mfa reset", usage: "user mfa reset UID", minArgs: 1, maxArgs: 1, fn: userMFAReset},
	{name: "group add", usage: "group add CN [--description D] [--gid-number N]", flags: []string{"description", "gid-number"}, minArgs: 1, maxArgs: 1, fn: groupAdd},
	{name: "group list", usage: "group list [--private]", flags: []string{"private!"}, fn: groupList},
	{name: "group show", usage: "group show CN", minArgs: 1, maxArgs: 1, fn: groupShow},
	{name: "group delete", usage: "group delete CN", minArgs: 1, maxArgs: 1, fn: groupDelete},
	{name: "group add-member", usage: "group add-member CN MEMBER...", minArgs: 2, maxArgs: -1, fn: func(e *env) error { return groupMembers(e, true) }},
	{name: "group remove-member", usage: "group remove-member CN MEMBER...", minArgs: 2, maxArgs: -1, fn: func(e *env) error { return groupMembers(e, false) }},
	{name: "bind-account add", usage: "bind-account add NAME [--rights read,samba,admin] [--password-stdin]", flags: []string{"rights", "password-stdin!"}, minArgs: 1, maxArgs: 1, password: takesPassword, fn: accountAdd},
	{name: "bind-account list", usage: "bind-account list", fn: accountList},
	{name: "bind-account delete", usage: "bind-account delete NAME", minArgs: 1, maxArgs: 1, fn: accountDelete},
	{name: "app-password add", usage: "app-password add UID NAME", minArgs: 2, maxArgs: 2, fn: appPasswordAdd},
	{name: "app-password list", usage: "app-password list UID", minArgs: 1, maxArgs: 1, fn: appPasswordList},
	{name: "app-password revoke", usage: "app-password revoke UID NAME", minArgs: 2, maxArgs: 2, fn: appPasswordRevoke},
	{name: "audit", usage: "audit [--user UID] [--app NAME] [--service FRONTEND] [--kind KIND] [--result RESULT] [--since DURATION]", flags: []string{"user", "app", "service", "kind", "result", "since"}, fn: audit},
	{name: "backup", usage: "backup FILE", minArgs: 1, maxArgs: 1, fn: takeBackup},
	{name: "backup verify", usage: "backup verify FILE", minArgs: 1, maxArgs: 1},
	{name: "restore", usage: "restore FILE [--force]", flags: []string{"force!"}, minArgs: 1, maxArgs: 1},
	{name: "import", usage: "import FILE.ldif", minArgs: 1, maxArgs: 1, fn: importLDIF},
	{name: "export", usage: "export [--with-secrets] [--no-ssh-keys] FILE.ldif", flags: []string{"with-secrets!", "no-ssh-keys!"}, minArgs: 1, maxArgs: 1, fn: exportLDIF},
	{name: "config check", usage: "config check"},
	{name: "settings show", usage: "settings show", fn: settingsShow},
	{name: "settings set", usage: "settings set KEY VALUE [KEY VALUE]...", minArgs: 2, maxArgs: -1, fn: settingsSet},
	{name: "settings reset", usage: "settings reset KEY...", minArgs: 1, maxArgs: -1, fn: settingsReset},
	{name: "migrate", usage: "migrate --to etcd --etcd-endpoints URL,... [--force]", flags: []string{"to", "force!"}},
	{name: "app add", usage: "app add NAME (--metadata FILE|URL | --entity-id ID --acs URL) [--preset cloudflare|generic] [--groups G1,G2] [--nameid email|persistent|uid] [--attribute NAME=SOURCE]... [--encrypt] [--verify-requests] [--idp-initiated] [--launch-url URL] [--require-mfa]\n" +
		"       app add NAME --oidc (--redirect-uri URL... | --preset cloudflare|grafana|gitea|proxmox|portainer|nextcloud --app-url URL) [--post-logout-uri URL]... [--public] [--signing-alg RS256|ES256] [--access-ttl D] [--id-token-ttl D] [--refresh-ttl D] [--groups G1,G2] [--require-mfa] [--launch-url URL]",
		flags: []string{"metadata", "entity-id", "acs", "preset", "groups", "nameid", "attribute*", "encrypt!", "verify-requests!", "idp-initiated!", "launch-url", "require-mfa!",
			"oidc!", "redirect-uri*", "post-logout-uri*", "public!", "app-url", "signing-alg", "access-ttl", "id-token-ttl", "refresh-ttl"}, minArgs: 1, maxArgs: 1, fn: appAdd},
	{name: "app rotate-secret", usage: "app rotate-secret NAME", minArgs: 1, maxArgs: 1, fn: appRotateSecret},
	{name: "app list", usage: "app list", fn: appList},
	{name: "app show", usage: "app show NAME", minArgs: 1, maxArgs: 1, fn: appShow},
	{name: "app delete", usage: "app delete NAME", minArgs: 1, maxArgs: 1, fn: appDelete},
	{name: "saml metadata", usage: "saml metadata", fn: samlMetadata},
	{name: "oidc rotate-key", usage: "oidc rotate-key [--switch | --finish]", flags: []string{"switch!", "finish!"}, fn: oidcRotateKey},
	{name: "saml rotate-cert", usage: "saml rotate-cert [--switch | --finish | --app NAME]", flags: []string{"switch!", "finish!", "app"}, fn: samlRotate},
}

func findCommand(args []string) (*command, []string, error) {
	for _, words := range []int{3, 2, 1} {
		if len(args) < words {
			continue
		}
		name := strings.Join(args[:words], " ")
		for _, c := range commands {
			if c.name == name {
				return c, args[words:], nil
			}
		}
	}
	return nil, nil, usagef("unknown command %q", strings.Join(args[:min(2, len(args))], " "))
}

func (e *env) arg(i int) string { return e.inv.args[i] }

func (e *env) flag(name string) (string, bool) {
	v, ok := e.inv.flags[name]
	return v, ok
}

func (e *env) intFlag(name string) (int, error) {
	v, ok := e.flag(name)
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, usagef("--%s: %q is not a positive number", name, v)
	}
	return n, nil
}

// announcePassword prints a generated password, the only time it is shown.
func (e *env) announcePassword(who string) {
	if e.inv.generated {
		fmt.Fprintf(e.out, "Generated password for %s (shown once): %s\n", who, e.inv.password)
	}
}

func userAdd(e *env) error {
	mail, ok := e.flag("mail")
	if !ok {
		return usagef("user add needs --mail")
	}
	u := directory.User{UID: e.arg(0), Mail: mail}
	u.GivenName, _ = e.flag("given")
	u.Surname, _ = e.flag("sn")
	u.DisplayName, _ = e.flag("name")
	u.LoginShell, _ = e.flag("shell")
	u.HomeDirectory, _ = e.flag("home")
	var err error
	if u.UIDNumber, err = e.intFlag("uid-number"); err != nil {
		return err
	}
	if u.GIDNumber, err = e.intFlag("gid-number"); err != nil {
		return err
	}
	group, byGroup := e.flag("group")
	if byGroup && u.GIDNumber != 0 {
		return usagef("user add takes --group or --gid-number, not both")
	}
	p, err := e.dir.NewPassword(e.inv.password)
	if err != nil {
		return err
	}
	given := u
	err = e.dir.Batch(e.ctx, func(b *directory.Batch) error {
		// On etcd fn may run again after a conflict: start from the user
		// as given, not with the number or ID the run before was assigned.
		u = given
		if byGroup {
			g, err := b.Reader().GroupByCN(group)
			if err != nil {
				return fmt.Errorf("group %s: %w", group, err)
			}
			u.GIDNumber = g.GIDNumber
		}
		if u, err = b.CreateUser(u); err != nil {
			return err
		}
		return b.SetPassword(u.ID, p)
	})
	if err != nil {
		return err
	}
	e.audit("user add", u.UID)
	if e.inv.json {
		return printJSON(e.out, userJSON(u, nil, nil))
	}
	fmt.Fprintf(e.out, "Created user %s (uidNumber %d, entryUUID %s)\n", u.UID, u.UIDNumber, u.ID)
	e.announcePassword(u.UID)
	return nil
}

// audit records an administrative change.
func (e *env) audit(action, subject string) {
	e.dir.Audit(directory.AuditEvent{Kind: "admin", Subject: subject, Service: "cli", Result: directory.ResultOK, Detail: action})
}

type userOut struct {
	directory.User
	Groups          []string `json:"groups,omitempty"`
	EffectiveGroups []string `json:"effectiveGroups,omitempty"`
}

func userJSON(u directory.User, direct, effective []directory.Group) userOut {
	return userOut{User: u, Groups: groupNames(direct), EffectiveGroups: groupNames(effective)}
}

func groupNames(gs []directory.Group) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.CN)
	}
	return out
}

func userList(e *env) error {
	users, err := e.dir.ListUsers(e.ctx)
	if err != nil {
		return err
	}
	if e.inv.json {
		out := make([]userOut, 0, len(users))
		for _, u := range users {
			out = append(out, userJSON(u, nil, nil))
		}
		return printJSON(e.out, out)
	}
	rows := [][]string{}
	for _, u := range users {
		rows = append(rows, []string{u.UID, u.Mail, u.CommonName(), strconv.Itoa(u.UIDNumber), strconv.Itoa(u.GIDNumber), status(u.Disabled)})
	}
	return printTable(e.out, []string{"UID", "MAIL", "NAME", "UIDNUMBER", "GIDNUMBER", "STATUS"}, rows)
}

func status(disabled bool) string {
	if disabled {
		return "disabled"
	}
	return "active"
}

func userShow(e *env) error {
	var out userOut
	err := e.dir.View(e.ctx, func(ctx context.Context, r directory.Reader) error {
		u, err := r.UserByUID(e.arg(0))
		if err != nil {
			return err
		}
		direct, err := r.DirectGroups(u.ID)
		if err != nil {
			return err
		}
		effective, err := r.EffectiveGroups(u.ID)
		out = userJSON(u, direct, effective)
		return err
	})
	if err != nil {
		return err
	}
	if e.inv.json {
		return printJSON(e.out, out)
	}
	u := out.User
	return printFields(e.out, [][2]string{
		{"uid", u.UID}, {"mail", u.Mail}, {"name", u.CommonName()}, {"given name", u.GivenName}, {"surname", u.Surname},
		{"uidNumber", strconv.Itoa(u.UIDNumber)}, {"gidNumber", strconv.Itoa(u.GIDNumber)},
		{"home", u.HomeDirectory}, {"shell", u.LoginShell}, {"status", status(u.Disabled)},
		{"entryUUID", u.ID}, {"ssh keys", strconv.Itoa(len(u.SSHKeys))},
		{"groups", strings.Join(out.Groups, ", ")}, {"effective groups", strings.Join(out.EffectiveGroups, ", ")},
		{"created", u.Created.Format(time.RFC3339)}, {"modified", u.Modified.Format(time.RFC3339)},
	})
}

func userPasswd(e *env) error {
	if err := e.dir.SetPassword(e.ctx, e.arg(0), e.inv.password); err != nil {
		return err
	}
	e.audit("user passwd", e.arg(0))
	fmt.Fprintf(e.out, "Password of %s changed\n", e.arg(0))
	e.announcePassword(e.arg(0))
	return nil
}

func userSetDisabled(e *env, disabled bool) error {
	if _, err := e.dir.SetDisabled(e.ctx, e.arg(0), disabled); err != nil {
		return err
	}
	e.audit("user "+map[bool]string{true: "disable", false: "enable"}[disabled], e.arg(0))
	fmt.Fprintf(e.out, "User %s is %s\n", e.arg(0), status(disabled))
	return nil
}

func userDelete(e *env) error {
	if err := e.dir.DeleteUser(e.ctx, e.arg(0)); err != nil {
		return err
	}
	e.audit("user delete", e.arg(0))
	fmt.Fprintf(e.out, "Deleted user %s\n", e.arg(0))
	return nil
}

func userRename(e *env) error {
	u, err := e.dir.RenameUser(e.ctx, e.arg(0), e.arg(1))
	if err != nil {
		return err
	}
	e.audit("user rename "+e.arg(0), u.UID)
	fmt.Fprintf(e.out, "Renamed %s to %s (entryUUID %s unchanged)\n", e.arg(0), u.UID, u.ID)
	return nil
}

// userSetGroup sets a user's primary group; without a group, the user gets
// their private group back.
func userSetGroup(e *env) error {
	cn := ""
	if len(e.inv.args) > 1 {
		cn = e.arg(1)
	}
	u, err := e.dir.SetPrimaryGroup(e.ctx, e.arg(0), cn)
	if err != nil {
		return err
	}
	e.audit("user set-group "+cn, u.UID)
	if cn == "" {
		cn = "their private group"
	}
	fmt.Fprintf(e.out, "The primary group of %s is %s (gidNumber %d)\n", u.UID, cn, u.GIDNumber)
	return nil
}

func groupAdd(e *env) error {
	gid, err := e.intFlag("gid-number")
	if err != nil {
		return err
	}
	desc, _ := e.flag("description")
	g, err := e.dir.CreateGroup(e.ctx, directory.Group{CN: e.arg(0), Description: desc, GIDNumber: gid})
	if err != nil {
		return err
	}
	e.audit("group add", g.CN)
	if e.inv.json {
		return printJSON(e.out, g)
	}
	fmt.Fprintf(e.out, "Created group %s (gidNumber %d)\n", g.CN, g.GIDNumber)
	return nil
}

type groupOut struct {
	ID          string    `json:"id"`
	CN          string    `json:"cn"`
	Description string    `json:"description,omitempty"`
	GIDNumber   int       `json:"gidNumber"`
	Private     bool      `json:"private,omitempty"` // a user's private group (group list --private)
	Users       []string  `json:"users"`
	Groups      []string  `json:"groups"`
	Created     time.Time `json:"created"`
	Modified    time.Time `json:"modified"`
}

// groupView names a group's members.
func groupView(r directory.Reader, g directory.Group) groupOut {
	out := groupOut{ID: g.ID, CN: g.CN, Description: g.Description, GIDNumber: g.GIDNumber, Users: []string{}, Groups: []string{}, Created: g.Created, Modified: g.Modified}
	for _, id := range g.Users {
		if n, err := r.Name(id); err == nil {
			out.Users = append(out.Users, n)
		}
	}
	for _, id := range g.Groups {
		if n, err := r.Name(id); err == nil {
			out.Groups = append(out.Groups, n)
		}
	}
	return out
}

// groupList lists the stored groups and, with --private, the users'
// private groups, marked as such.
func groupList(e *env) error {
	var groups []groupOut
	_, private := e.flag("private")
	err := e.dir.View(e.ctx, func(ctx context.Context, r directory.Reader) error {
		if err := r.Groups("", func(g directory.Group) error {
			groups = append(groups, groupView(r, g))
			return nil
		}); err != nil || !private {
			return err
		}
		return r.PrivateGroups(func(g directory.Group, _ directory.User) error {
			out := groupView(r, g)
			out.Private, out.Description = true, "private group of "+g.CN
			groups = append(groups, out)
			return nil
		})
	})
	if err != nil {
		return err
	}
	if private {
		slices.SortStableFunc(groups, func(a, b groupOut) int { return strings.Compare(strings.ToLower(a.CN), strings.ToLower(b.CN)) })
	}
	if e.inv.json {
		if groups == nil {
			groups = []groupOut{}
		}
		return printJSON(e.out, groups)
	}
	var rows [][]string
	for _, g := range groups {
		rows = append(rows, []string{g.CN, strconv.Itoa(g.GIDNumber), strconv.Itoa(len(g.Users) + len(g.Groups)), g.Description})
	}
	return printTable(e.out, []string{"GROUP", "GIDNUMBER", "MEMBERS", "DESCRIPTION"}, rows)
}

func groupShow(e *env) error {
	var g groupOut
	err := e.dir.View(e.ctx, func(ctx context.Context, r directory.Reader) error {
		rec, err := r.GroupByCN(e.arg(0))
		g = groupView(r, rec)
		return err
	})
	if err != nil {
		return err
	}
	if e.inv.json {
		return printJSON(e.out, g)
	}
	prefixed := make([]string, len(g.Groups))
	for i, n := range g.Groups {
		prefixed[i] = "group:" + n
	}
	return printFields(e.out, [][2]string{
		{"cn", g.CN}, {"gidNumber", strconv.Itoa(g.GIDNumber)}, {"description", g.Description},
		{"users", strings.Join(g.Users, ", ")}, {"groups", strings.Join(prefixed, ", ")}, {"entryUUID", g.ID},
	})
}

func groupDelete(e *env) error {
	if err := e.dir.DeleteGroup(e.ctx, e.arg(0)); err != nil {
		return err
	}
	e.audit("group delete", e.arg(0))
	fmt.Fprintf(e.out, "Deleted group %s\n", e.arg(0))
	return nil
}

func groupMembers(e *env, add bool) error {
	var refs []directory.MemberRef
	for _, m := range e.inv.args[1:] {
		refs = append(refs, directory.ParseMemberRef(m))
	}
	var err error
	if add {
		_, err = e.dir.ChangeMembers(e.ctx, e.arg(0), refs, nil)
	} else {
		_, err = e.dir.ChangeMembers(e.ctx, e.arg(0), nil, refs)
	}
	if err != nil {
		return err
	}
	verb := map[bool]string{true: "add-member", false: "remove-member"}[add]
	e.audit("group "+verb+" "+strings.Join(e.inv.args[1:], " "), e.arg(0))
	fmt.Fprintf(e.out, "Group %s: %s %s\n", e.arg(0), verb, strings.Join(e.inv.args[1:], " "))
	return nil
}

func accountAdd(e *env) error {
	names := []string{"read"}
	if v, ok := e.flag("rights"); ok {
		names = strings.Split(v, ",")
	}
	rights, err := directory.ParseRights(names)
	if err != nil {
		return err
	}
	if err := e.dir.CheckPasswordPolicy(e.inv.password); err != nil {
		return err
	}
	a, err := e.dir.CreateBindAccount(e.ctx, e.arg(0), rights, e.inv.password)
	if err != nil {
		return err
	}
	e.audit("bind-account add", a.Name)
	layout, _ := ldif.NewLayout(e.cfg.BaseDN)
	if e.inv.json {
		return printJSON(e.out, map[string]any{"name": a.Name, "rights": a.Rights, "dn": layout.BindAccountDN(a.Name)})
	}
	fmt.Fprintf(e.out, "Created bind account %s (%s): bind DN %s\n", a.Name, strings.Join(names, ","), layout.BindAccountDN(a.Name))
	e.announcePassword(a.Name)
	return nil
}

func accountList(e *env) error {
	accounts, err := e.dir.ListBindAccounts(e.ctx)
	if err != nil {
		return err
	}
	if e.inv.json {
		if accounts == nil {
			accounts = []directory.BindAccount{}
		}
		return printJSON(e.out, accounts)
	}
	layout, _ := ldif.NewLayout(e.cfg.BaseDN)
	var rows [][]string
	for _, a := range accounts {
		var rs []string
		for _, r := range a.Rights {
			rs = append(rs, string(r))
		}
		used := "never"
		if !a.LastUsed.IsZero() {
			used = a.LastUsed.Local().Format("2006-01-02 15:04")
		}
		rows = append(rows, []string{a.Name, strings.Join(rs, ","), layout.BindAccountDN(a.Name), used})
	}
	return printTable(e.out, []string{"NAME", "RIGHTS", "BIND DN", "LAST USED"}, rows)
}

func accountDelete(e *env) error {
	if err := e.dir.DeleteBindAccount(e.ctx, e.arg(0)); err != nil {
		return err
	}
	e.audit("bind-account delete", e.arg(0))
	fmt.Fprintf(e.out, "Deleted bind account %s\n", e.arg(0))
	return nil
}

func appPasswordAdd(e *env) error {
	secret, err := e.dir.AddAppPassword(e.ctx, e.arg(0), e.arg(1))
	if err != nil {
		return err
	}
	e.audit("app-password add "+e.arg(1), e.arg(0))
	if e.inv.json {
		return printJSON(e.out, map[string]string{"uid": e.arg(0), "name": e.arg(1), "password": secret})
	}
	fmt.Fprintf(e.out, "App password %q for %s (shown once): %s\n", e.arg(1), e.arg(0), secret)
	return nil
}

func appPasswordList(e *env) error {
	aps, err := e.dir.AppPasswords(e.ctx, e.arg(0))
	if err != nil {
		return err
	}
	if e.inv.json {
		return printJSON(e.out, aps)
	}
	var rows [][]string
	for _, ap := range aps {
		last := "never"
		if !ap.LastUsed.IsZero() {
			last = ap.LastUsed.Format(time.RFC3339)
		}
		rows = append(rows, []string{ap.Name, ap.Created.Format(time.RFC3339), last})
	}
	return printTable(e.out, []string{"NAME", "CREATED", "LAST USED"}, rows)
}

func appPasswordRevoke(e *env) error {
	if err := e.dir.RevokeAppPassword(e.ctx, e.arg(0), e.arg(1)); err != nil {
		return err
	}
	e.audit("app-password revoke "+e.arg(1), e.arg(0))
	fmt.Fprintf(e.out, "Revoked app password %q of %s\n", e.arg(1), e.arg(0))
	return nil
}

func audit(e *env) error {
	q := directory.AuditQuery{}
	q.Subject, _ = e.flag("user")
	q.App, _ = e.flag("app")
	q.Service, _ = e.flag("service")
	q.Kind, _ = e.flag("kind")
	q.Result, _ = e.flag("result")
	if v, ok := e.flag("since"); ok {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return usagef("--since: %q is not a duration such as 24h or 30m", v)
		}
		q.Since = e.dir.Now().Add(-d)
	}
	events, err := e.dir.AuditEvents(e.ctx, q)
	if err != nil {
		return err
	}
	if e.inv.json {
		if events == nil {
			events = []directory.AuditEvent{}
		}
		return printJSON(e.out, events)
	}
	var rows [][]string
	for _, ev := range events {
		rows = append(rows, []string{ev.Time.Format(time.RFC3339), ev.Kind, ev.Subject, ev.Service, ev.Remote, ev.Result, ev.Detail})
	}
	return printTable(e.out, []string{"TIME", "KIND", "WHO", "SERVICE", "FROM", "RESULT", "DETAIL"}, rows)
}

func takeBackup(e *env) error {
	var size int64
	if info, err := os.Stat(filepath.Join(e.cfg.Data, "atrium.db")); err == nil {
		size = info.Size()
	}
	src := barSource{src: e.dir, bar: progress.ForTerminal(e.progress, "backup", "MB"), total: size}
	n, err := backup.WriteFile(e.ctx, e.arg(0), src)
	if err != nil {
		src.bar.Finish()
		return err
	}
	src.bar.Complete() // the file's size includes free space
	fmt.Fprintf(e.out, "Backed up %d bytes to %s\n", n, e.arg(0))
	return nil
}

// limitImportHeap sets a soft memory limit for an import of a file of
// size bytes, unless GOMEMLIMIT is set, and returns what restores the old
// one. What is live peaks at under three times the file (the sorted writes,
// once every entry is read), and the collector lets the heap grow to twice
// what is live; a limit a little above the peak has it collect more only
// near the peak: 100,000 users (71 MB of LDIF) took 290 MB instead of 450
// MB, for the same CPU.
func limitImportHeap(size int64) func() {
	if os.Getenv("GOMEMLIMIT") != "" || size <= 0 {
		return func() {}
	}
	old := debug.SetMemoryLimit(max(256<<20, 15*size/4))
	return func() { debug.SetMemoryLimit(old) }
}

func importLDIF(e *env) error {
	if done, err := finishImport(e); done || err != nil {
		return err
	}
	f, err := os.Open(e.arg(0))
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	defer f.Close()
	layout, err := ldif.NewLayout(e.cfg.BaseDN)
	if err != nil {
		return err
	}
	var size int64
	if info, err := f.Stat(); err == nil {
		size = info.Size()
	}
	if e.progress != nil && size > 0 { // the command's own process, not a server's
		// The heap spans more addresses than it holds at its peak (the
		// limit below): freed spans leave gaps it grows past.
		growHeapInHugePages(5 * size)
		defer limitImportHeap(size)()
	}
	cr := &countingReader{r: f}
	bar := progress.ForTerminal(e.progress, "import", "entries")
	rep, err := importInto(e, func(d *directory.Directory) (ldif.Report, error) {
		return ldif.ImportWith(e.ctx, d, cr, layout, ldif.ImportOptions{Progress: func(n int) {
			// Reading and checking take about half the time, the write the rest.
			bar.Update(int64(n), 0.5*float64(cr.n)/float64(max(size, 1)))
		}, Size: size})
	})
	if err == nil {
		bar.Complete()
	} else {
		bar.Finish()
	}
	if err != nil {
		var ie *ldif.ImportError
		if errors.As(err, &ie) {
			for _, p := range ie.Problems {
				fmt.Fprintln(e.out, "problem:", p)
			}
			return fmt.Errorf("import: nothing was imported: %w", err)
		}
		return err
	}
	e.audit("import "+e.arg(0), "")
	if e.inv.json {
		return printJSON(e.out, rep)
	}
	fmt.Fprintf(e.out, "Imported %d users, %d groups, %d password hashes\n", rep.Users, rep.Groups, rep.Passwords)
	for _, s := range rep.Skipped {
		fmt.Fprintf(e.out, "skipped %s: %s\n", s.DN, s.Reason)
	}
	return nil
}

func exportLDIF(e *env) error {
	layout, err := ldif.NewLayout(e.cfg.BaseDN)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(e.arg(0), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	_, secrets := e.flag("with-secrets")
	_, noKeys := e.flag("no-ssh-keys")
	if info, err := os.Stat(filepath.Join(e.cfg.Data, "atrium.db")); err == nil && e.progress != nil {
		// The command's own process: what it decodes is about the file's size.
		growHeapInHugePages(info.Size())
	}
	bar := progress.ForTerminal(e.progress, "export", "entries")
	err = ldif.Export(e.ctx, e.dir, f, layout, ldif.ExportOptions{Secrets: secrets, OmitSSHKeys: noKeys,
		Progress: func(done, total int) { bar.Update(int64(done), float64(done)/float64(total)) }})
	bar.Finish()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	if secrets {
		e.audit("export with secrets "+e.arg(0), "")
	}
	fmt.Fprintf(e.out, "Exported to %s\n", e.arg(0))
	return nil
}
