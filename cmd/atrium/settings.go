package main

import (
	"cmp"
	"fmt"
	"os/user"
	"strconv"
	"strings"

	"github.com/atrium-dir/atrium/console"
	"github.com/atrium-dir/atrium/directory"
)

// The run-time settings (see directory.SettingKeys) live in the store,
// where the console and `atrium settings set` change them, unless the
// configuration sets them: then the configuration's value applies and
// they are read-only. The rest of the configuration is read at start-up.

// runtimeValues are the configuration's values of the run-time settings,
// as text the directory reads.
func (c Config) runtimeValues() map[string]string {
	return map[string]string{
		directory.KeyMFARequire:        c.MFA.Require,
		directory.KeyMFAGroups:         strings.Join(c.MFA.Groups, ","),
		directory.KeyAppPasswordOnly:   strings.Join(c.LDAP.AppPasswordOnlyGroups, ","),
		directory.KeyAnonymous:         c.LDAP.Anonymous,
		directory.KeyUserRead:          c.LDAP.UserRead,
		directory.KeySessionIdle:       c.Web.SessionIdle.String(),
		directory.KeySessionMax:        c.Web.SessionMax.String(),
		directory.KeyRecentSignIn:      c.Web.RecentSignIn.String(),
		directory.KeyInviteTTL:         c.Web.InviteTTL.String(),
		directory.KeyMinPasswordLength: strconv.Itoa(c.Password.MinLength),
	}
}

// envName is the environment variable of a configuration key.
func envName(key string) string {
	return "ATRIUM_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// source says where the configuration sets key; empty when it does not.
func (c Config) source(key string) string {
	switch {
	case c.set[envName(key)]:
		return "the environment (" + envName(key) + ")"
	case c.set[key]:
		return "the configuration file (" + key + ")"
	}
	return ""
}

// fixedSettings are the run-time settings the configuration sets.
func (c Config) fixedSettings() map[string]directory.FixedSetting {
	out := map[string]directory.FixedSetting{}
	for key, v := range c.runtimeValues() {
		if src := c.source(key); src != "" {
			out[key] = directory.FixedSetting{Value: v, Source: src}
		}
	}
	return out
}

// runtimeProblems checks the run-time settings the configuration sets,
// by the directory's own rules.
func (c Config) runtimeProblems() []string {
	var p []string
	for _, key := range directory.SettingKeys() {
		if f, ok := c.fixedSettings()[key]; ok {
			if _, err := directory.ParseSetting(key, f.Value); err != nil {
				p = append(p, strings.TrimSuffix(err.Error(), ": "+directory.ErrInvalid.Error()))
			}
		}
	}
	return p
}

// consoleSettings are the configuration-only settings the console's
// policy page shows read-only, each with why it is not changed there.
func (c Config) consoleSettings() []console.Setting {
	list := func(v []string) string {
		if len(v) == 0 {
			return "(none)"
		}
		return strings.Join(v, ", ")
	}
	const atStart = "; Samba needs its domain, NetBIOS names and SID when Atrium starts"
	rows := []console.Setting{
		{Key: "samba.enabled", Value: strconv.FormatBool(c.Samba.Enabled), About: "keep NT hashes and serve Samba's attributes to bind accounts with the samba right" + atStart},
		{Key: "samba.domain", Value: c.Samba.Domain, About: "the Samba domain name" + atStart},
		{Key: "samba.netbios_names", Value: list(c.Samba.NetBIOSNames), About: "NAS boxes served a domain entry of their own name" + atStart},
		{Key: "web.admin_groups", Value: list(c.Web.AdminGroups), About: "who may use this console; kept out of the console so that no change there can lock every admin out"},
		{Key: "password.refused_file", Value: cmp.Or(c.Password.RefusedFile, "(none)"), About: "passwords refused besides the shipped list, one a line; read at start-up"},
	}
	for i, r := range rows {
		rows[i].Source = "default"
		if c.source(r.Key) != "" || r.Key == "samba.enabled" && c.set["ATRIUM_SAMBA"] {
			rows[i].Source = "configuration"
		}
	}
	return rows
}

// settingsShow lists the run-time settings and where each value comes
// from.
func settingsShow(e *env) error {
	info := e.dir.SettingsInfo()
	if e.inv.json {
		return printJSON(e.out, info)
	}
	rows := [][]string{}
	for _, s := range info {
		from := s.Source
		if s.FixedBy != "" {
			from = s.FixedBy
		}
		rows = append(rows, []string{s.Key, cmp.Or(s.Value, "(none)"), from})
	}
	return printTable(e.out, []string{"KEY", "VALUE", "FROM"}, rows)
}

// settingsSet changes run-time settings (KEY VALUE pairs) in one step,
// through the same directory operation as the console.
func settingsSet(e *env) error {
	if len(e.inv.args)%2 != 0 {
		return usagef("settings set takes KEY VALUE pairs")
	}
	changes := map[string]string{}
	for i := 0; i < len(e.inv.args); i += 2 {
		if strings.TrimSpace(e.arg(i+1)) == "" {
			return usagef("%s: give a value, or use settings reset %s", e.arg(i), e.arg(i))
		}
		changes[e.arg(i)] = e.arg(i + 1)
	}
	return applySettings(e, changes)
}

// settingsReset returns settings to their defaults.
func settingsReset(e *env) error {
	changes := map[string]string{}
	for _, k := range e.inv.args {
		changes[k] = ""
	}
	return applySettings(e, changes)
}

func applySettings(e *env, changes map[string]string) error {
	if err := e.dir.SetSettings(e.ctx, changes, directory.Changer{Actor: unixUser(), Remote: "local", Service: "cli"}); err != nil {
		return err
	}
	fmt.Fprintln(e.out, "Settings saved; they apply now.")
	return settingsShow(e)
}

// unixUser names who ran a command: the admin socket admits only the
// server's own user (mode 0600), so it is this process's user either way.
func unixUser() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "unknown"
}
