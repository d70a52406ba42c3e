package directory_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

var settingsAdmin = directory.Changer{Actor: "ada", Remote: "192.0.2.7", Service: "console"}

// openDirAt opens a directory on the bbolt file at path with opt, closed
// when the test ends or by the returned func.
func openDirAt(t *testing.T, path string, opt directory.Options) (*directory.Directory, func()) {
	t.Helper()
	s := openStore(t, path)
	opt.PasswordParams, opt.SecretKey = password.TestParams, make([]byte, directory.SecretKeySize)
	d, err := directory.New(context.Background(), s, opt)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	done := func() { d.Close(); s.Close() }
	t.Cleanup(done)
	return d, done
}

func settingInfo(d *directory.Directory, key string) directory.SettingInfo {
	for _, s := range d.SettingsInfo() {
		if s.Key == key {
			return s
		}
	}
	return directory.SettingInfo{}
}

// The configuration wins, then the stored value, then the default: a
// stored value applies at once and after a restart, a key the
// configuration sets refuses a change and ignores what was stored, and
// "" returns a setting to its default.
func TestSettingsPrecedence(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "atrium.db")
	fixed := map[string]directory.FixedSetting{directory.KeyAnonymous: {Value: "base", Source: "the configuration file (ldap.anonymous)"}}
	d, done := openDirAt(t, path, directory.Options{Fixed: fixed})
	if s := d.Settings(); s.Anonymous != "base" || s.UserRead != "all" || s.SessionIdle != 30*time.Minute || s.MinPasswordLength != 8 {
		t.Errorf("settings at start: %+v", s)
	}
	if i := settingInfo(d, directory.KeyAnonymous); i.Source != directory.SourceConfiguration || i.FixedBy != "the configuration file (ldap.anonymous)" {
		t.Errorf("ldap.anonymous: %+v", i)
	}
	err := d.SetSettings(ctx, map[string]string{directory.KeyAnonymous: "tree"}, settingsAdmin)
	if !errors.Is(err, directory.ErrConflict) || !strings.Contains(err.Error(), "the configuration file (ldap.anonymous)") || d.Settings().Anonymous != "base" {
		t.Errorf("changing a fixed setting: %v, now %s", err, d.Settings().Anonymous)
	}
	must(t, d.SetSettings(ctx, map[string]string{directory.KeyUserRead: "self", directory.KeySessionIdle: "10m", directory.KeyMinPasswordLength: "12"}, settingsAdmin))
	if s := d.Settings(); s.UserRead != "self" || s.SessionIdle != 10*time.Minute || s.MinPasswordLength != 12 {
		t.Errorf("the change does not apply at once: %+v", s)
	}
	if i := settingInfo(d, directory.KeySessionIdle); i.Source != directory.SourceStored || i.Value != "10m" {
		t.Errorf("web.session_idle: %+v", i)
	}
	done()

	// Restarted, now with the configuration setting ldap.user_read.
	fixed[directory.KeyUserRead] = directory.FixedSetting{Value: "all", Source: "the environment (ATRIUM_LDAP_USER_READ)"}
	d, done = openDirAt(t, path, directory.Options{Fixed: fixed})
	if s := d.Settings(); s.UserRead != "all" || s.SessionIdle != 10*time.Minute || s.MinPasswordLength != 12 {
		t.Errorf("after a restart: %+v", s)
	}
	must(t, d.SetSettings(ctx, map[string]string{directory.KeySessionIdle: ""}, settingsAdmin))
	if i := settingInfo(d, directory.KeySessionIdle); i.Source != directory.SourceDefault || i.Value != "30m" || d.Settings().SessionIdle != 30*time.Minute {
		t.Errorf("after a reset: %+v", i)
	}
	done()
}

// Bad values, unknown and configuration-only keys, and groups that do not
// exist are refused with the reason, and a refused change stores none of
// its keys.
func TestSettingsValidation(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	_, err := d.CreateGroup(ctx, directory.Group{CN: "staff"})
	must(t, err)
	for _, c := range []struct {
		changes map[string]string
		why     string
	}{
		{map[string]string{directory.KeyMinPasswordLength: "7"}, "from 8 to 64"},
		{map[string]string{directory.KeyMinPasswordLength: "65"}, "from 8 to 64"},
		{map[string]string{directory.KeyMinPasswordLength: "twelve"}, "whole number"},
		{map[string]string{directory.KeySessionMax: "5s"}, "from 1m to 720h"},
		{map[string]string{directory.KeyAnonymous: "everything"}, "none, base or tree"},
		{map[string]string{"samba.enabled": "true"}, "not a setting that can change"},
		{map[string]string{directory.KeyAppPasswordOnly: "staff, nosuch"}, `there is no group "nosuch"`},
		{map[string]string{directory.KeyMFARequire: "groups"}, "name at least one group"},
		{map[string]string{directory.KeyUserRead: "self", directory.KeyInviteTTL: "forever"}, "web.invite_ttl"},
	} {
		err := d.SetSettings(ctx, c.changes, settingsAdmin)
		if !errors.Is(err, directory.ErrInvalid) || !strings.Contains(err.Error(), c.why) {
			t.Errorf("%v: %v, want %q", c.changes, err, c.why)
		}
	}
	if s := d.Settings(); s.UserRead != "all" || s.MinPasswordLength != 8 || len(s.AppPasswordOnlyGroups) != 0 {
		t.Errorf("a refused change changed %+v", s)
	}
	must(t, d.SetSettings(ctx, map[string]string{directory.KeyAppPasswordOnly: "staff", directory.KeyMFARequire: "groups", directory.KeyMFAGroups: "staff"}, settingsAdmin))
	if p := d.MFAPolicy(); len(p.Groups) != 1 || len(p.LDAPAppPasswordOnly) != 1 {
		t.Errorf("the policy is %+v", p)
	}
}

// Each change is audited with the admin and their address; a value equal
// to the one in force is neither stored nor audited.
func TestSettingsAudit(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	must(t, d.SetSettings(ctx, map[string]string{directory.KeyAnonymous: "base", directory.KeyUserRead: "all"}, settingsAdmin))
	must(t, d.SetSettings(ctx, map[string]string{directory.KeyAnonymous: ""}, directory.Changer{Actor: "root", Remote: "local", Service: "cli"}))
	events, err := d.AuditEvents(ctx, directory.AuditQuery{Subject: "settings"})
	must(t, err)
	var got []string
	for _, e := range events {
		got = append(got, e.Actor+"@"+e.Remote+" "+e.Service+": "+e.Detail)
	}
	want := []string{"ada@192.0.2.7 console: set ldap.anonymous base", "root@local cli: reset ldap.anonymous to the default none"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if i := settingInfo(d, directory.KeyUserRead); i.Source != directory.SourceDefault {
		t.Errorf("an unchanged value was stored: %+v", i)
	}
}

// A raised minimum length applies at once to every password set, an
// admin's and a user's own.
func TestMinimumPasswordLength(t *testing.T) {
	ctx := context.Background()
	d := newTestDir(t, nil, directory.Options{})
	_, err := d.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com"})
	must(t, err)
	must(t, d.SetPassword(ctx, "alice", "violet tea"))
	must(t, d.SetSettings(ctx, map[string]string{directory.KeyMinPasswordLength: "14"}, settingsAdmin))
	for _, set := range []func(context.Context, string, string) error{d.SetPassword, d.SetOwnPassword} {
		if err := set(ctx, "alice", "violet teapot"); !errors.Is(err, directory.ErrInvalid) || !strings.Contains(err.Error(), "at least 14") {
			t.Errorf("a 13-character password under a minimum of 14: %v", err)
		}
	}
	must(t, d.SetOwnPassword(ctx, "alice", "violet teapots"))
}

// The MFA requirement a release before the settings record stored (a
// sealed secret) still applies, and the first change of a setting moves
// it into the record.
func TestLegacyMFARequirement(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "atrium.db")
	d, done := openDirAt(t, path, directory.Options{})
	raw, _ := json.Marshal(map[string]any{"all": true, "groups": nil})
	must(t, d.PutSecret(ctx, "setting:mfa", raw))
	done()
	d, _ = openDirAt(t, path, directory.Options{})
	if !d.MFAPolicy().All || settingInfo(d, directory.KeyMFARequire).Source != directory.SourceStored {
		t.Fatalf("the stored requirement does not apply: %+v", d.MFAPolicy())
	}
	must(t, d.SetSettings(ctx, map[string]string{directory.KeyAnonymous: "base"}, settingsAdmin))
	if _, err := d.Secret(ctx, "setting:mfa"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("the old record is still there: %v", err)
	}
	if !d.MFAPolicy().All {
		t.Error("the requirement was lost in the move")
	}
}
