package directory

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Run-time settings: the policies an admin may change while Atrium runs,
// from the admin console or `atrium settings set`. Each has one key, the
// configuration file's name for it. Its value is the configuration's when
// the configuration sets it (Options.Fixed), else the one an admin stored,
// else the default. The stored values are one record in the store, which
// this package keeps in memory and reloads whenever it changes, here or
// on another node, so that every front end reads the value in force when
// it uses it (see the README's "Settings: file or store").

// Setting keys, as in the configuration file.
const (
	KeyMFARequire        = "mfa.require"
	KeyMFAGroups         = "mfa.groups"
	KeyAppPasswordOnly   = "ldap.app_password_only_groups"
	KeyAnonymous         = "ldap.anonymous"
	KeyUserRead          = "ldap.user_read"
	KeySessionIdle       = "web.session_idle"
	KeySessionMax        = "web.session_max"
	KeyRecentSignIn      = "web.recent_sign_in"
	KeyInviteTTL         = "web.invite_ttl"
	KeyMinPasswordLength = "password.min_length"
)

// Values of ldap.anonymous and ldap.user_read.
const (
	AnonymousNone = "none" // an unbound client reads the root DSE and schema only
	AnonymousBase = "base" // and the base entry (Synology's check reads it)
	AnonymousTree = "tree" // and every non-secret attribute of every entry
	UserReadAll   = "all"  // a bound user reads people and groups
	UserReadSelf  = "self" // a bound user reads their own entry only
)

// Bounds of the minimum password length: NIST SP 800-63B asks for at
// least 8 characters; past 64, people can no longer use a passphrase
// manager's default or remember one.
const (
	MinPasswordLengthFloor   = 8
	MinPasswordLengthCeiling = 64
)

// Settings are the run-time settings in force.
type Settings struct {
	MFARequire string   `json:"mfaRequire"` // none, all or groups
	MFAGroups  []string `json:"mfaGroups"`  // with MFARequire groups
	// AppPasswordOnlyGroups: members, direct or nested, bind over LDAP
	// with app passwords only.
	AppPasswordOnlyGroups []string `json:"appPasswordOnlyGroups"`
	Anonymous             string   `json:"anonymous"` // AnonymousNone, Base or Tree
	UserRead              string   `json:"userRead"`  // UserReadAll or UserReadSelf
	// SessionIdle and SessionMax end a web session unused for so long, or
	// so long after its sign-in; RecentSignIn is how recent a sign-in a
	// change of how one signs in needs.
	SessionIdle  time.Duration `json:"sessionIdle"`
	SessionMax   time.Duration `json:"sessionMax"`
	RecentSignIn time.Duration `json:"recentSignIn"`
	// InviteTTL is how long an invite link works.
	InviteTTL         time.Duration `json:"inviteTTL"`
	MinPasswordLength int           `json:"minPasswordLength"`
}

// DefaultSettings are the settings nobody has set.
func DefaultSettings() Settings {
	return Settings{MFARequire: "none", Anonymous: AnonymousNone, UserRead: UserReadAll,
		SessionIdle: 30 * time.Minute, SessionMax: 12 * time.Hour, RecentSignIn: 15 * time.Minute,
		InviteTTL: 72 * time.Hour, MinPasswordLength: MinPasswordLengthFloor}
}

// MFAPolicy is the second-factor policy of s.
func (s Settings) MFAPolicy() MFAPolicy {
	p := MFAPolicy{All: s.MFARequire == "all", LDAPAppPasswordOnly: slices.Clone(s.AppPasswordOnlyGroups)}
	if s.MFARequire == "groups" {
		p.Groups = slices.Clone(s.MFAGroups)
	}
	return p
}

func (s Settings) clone() Settings {
	s.MFAGroups, s.AppPasswordOnlyGroups = slices.Clone(s.MFAGroups), slices.Clone(s.AppPasswordOnlyGroups)
	return s
}

// withPolicy is s with the second-factor policy p.
func (s Settings) withPolicy(p MFAPolicy) Settings {
	s.MFARequire, s.MFAGroups = "none", nil
	switch {
	case p.All:
		s.MFARequire = "all"
	case len(p.Groups) > 0:
		s.MFARequire, s.MFAGroups = "groups", slices.Clone(p.Groups)
	}
	s.AppPasswordOnlyGroups = slices.Clone(p.LDAPAppPasswordOnly)
	return s
}

// withDefaults fills the zero fields of s with the defaults.
func (s Settings) withDefaults() Settings {
	def := DefaultSettings()
	for _, d := range settingDefs {
		if d.show(s) == d.show(Settings{}) {
			d.take(&s, def)
		}
	}
	return s
}

// A settingDef is one setting: how its text is read and shown, and how
// it is copied from one record to another.
type settingDef struct {
	key, about string
	choices    []string // the values it may take, when they are few
	parse      func(s *Settings, v string) error
	show       func(s Settings) string
	take       func(dst *Settings, src Settings)
}

var settingDefs = []settingDef{
	choice(KeyMFARequire, "who must use a second factor: none, all or groups", func(s *Settings) *string { return &s.MFARequire }, "none", "all", "groups"),
	groups(KeyMFAGroups, "with mfa.require groups: members of these groups (nested too) must use a second factor", func(s *Settings) *[]string { return &s.MFAGroups }),
	groups(KeyAppPasswordOnly, "members of these groups (nested too) bind over LDAP with app passwords only", func(s *Settings) *[]string { return &s.AppPasswordOnlyGroups }),
	choice(KeyAnonymous, "what an LDAP client reads before it binds: none, base (the base entry) or tree (every entry)", func(s *Settings) *string { return &s.Anonymous }, AnonymousNone, AnonymousBase, AnonymousTree),
	choice(KeyUserRead, "what a user bound over LDAP reads: all (people and groups) or self (their own entry)", func(s *Settings) *string { return &s.UserRead }, UserReadAll, UserReadSelf),
	duration(KeySessionIdle, "a web session ends after this long unused", func(s *Settings) *time.Duration { return &s.SessionIdle }, time.Minute, 7*24*time.Hour),
	duration(KeySessionMax, "a web session ends this long after its sign-in", func(s *Settings) *time.Duration { return &s.SessionMax }, time.Minute, 30*24*time.Hour),
	duration(KeyRecentSignIn, "changing how one signs in, and every console change, needs a sign-in this recent", func(s *Settings) *time.Duration { return &s.RecentSignIn }, time.Minute, 24*time.Hour),
	duration(KeyInviteTTL, "how long an invite link works", func(s *Settings) *time.Duration { return &s.InviteTTL }, time.Minute, 30*24*time.Hour),
	number(KeyMinPasswordLength, "the shortest password anyone may set (NIST SP 800-63B: at least 8)", func(s *Settings) *int { return &s.MinPasswordLength }, MinPasswordLengthFloor, MinPasswordLengthCeiling),
}

// SettingKeys lists the run-time settings' keys in the order they are shown.
func SettingKeys() []string {
	out := make([]string, len(settingDefs))
	for i, d := range settingDefs {
		out[i] = d.key
	}
	return out
}

func lookupSetting(key string) (settingDef, error) {
	for _, d := range settingDefs {
		if d.key == key {
			return d, nil
		}
	}
	return settingDef{}, fmt.Errorf("%q is not a setting that can change while Atrium runs (those are %s): %w", key, strings.Join(SettingKeys(), ", "), ErrInvalid)
}

// ParseSetting checks the text v of the setting key, as the configuration
// or an admin gives it, and returns it as Atrium shows it.
func ParseSetting(key, v string) (string, error) {
	d, err := lookupSetting(key)
	if err != nil {
		return "", err
	}
	var s Settings
	if err := d.parse(&s, strings.TrimSpace(v)); err != nil {
		return "", err
	}
	return d.show(s), nil
}

func choice(key, about string, field func(*Settings) *string, values ...string) settingDef {
	return settingDef{key: key, about: about, choices: values,
		parse: func(s *Settings, v string) error {
			if !slices.Contains(values, v) {
				return fmt.Errorf("%s: %q must be %s or %s: %w", key, v, strings.Join(values[:len(values)-1], ", "), values[len(values)-1], ErrInvalid)
			}
			*field(s) = v
			return nil
		},
		show: func(s Settings) string { return *field(&s) },
		take: func(dst *Settings, src Settings) { *field(dst) = *field(&src) },
	}
}

// groups reads a list of group names separated by commas or spaces.
func groups(key, about string, field func(*Settings) *[]string) settingDef {
	return settingDef{key: key, about: about,
		parse: func(s *Settings, v string) error {
			names := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' })
			for _, cn := range names {
				if !ValidGroupName(cn) {
					return fmt.Errorf("%s: %q is not a group name: %w", key, cn, ErrInvalid)
				}
			}
			*field(s) = names
			return nil
		},
		show: func(s Settings) string { return strings.Join(*field(&s), ",") },
		take: func(dst *Settings, src Settings) { *field(dst) = slices.Clone(*field(&src)) },
	}
}

func duration(key, about string, field func(*Settings) *time.Duration, lo, hi time.Duration) settingDef {
	return settingDef{key: key, about: about,
		parse: func(s *Settings, v string) error {
			d, err := time.ParseDuration(v)
			if err != nil || d < lo || d > hi {
				return fmt.Errorf("%s: %q must be a duration from %s to %s (such as 30m or 12h): %w", key, v, showDuration(lo), showDuration(hi), ErrInvalid)
			}
			*field(s) = d
			return nil
		},
		show: func(s Settings) string { return showDuration(*field(&s)) },
		take: func(dst *Settings, src Settings) { *field(dst) = *field(&src) },
	}
}

func number(key, about string, field func(*Settings) *int, lo, hi int) settingDef {
	return settingDef{key: key, about: about,
		parse: func(s *Settings, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < lo || n > hi {
				return fmt.Errorf("%s: %q must be a whole number from %d to %d: %w", key, v, lo, hi, ErrInvalid)
			}
			*field(s) = n
			return nil
		},
		show: func(s Settings) string { return strconv.Itoa(*field(&s)) },
		take: func(dst *Settings, src Settings) { *field(dst) = *field(&src) },
	}
}

// showDuration spells d without the zero units Go adds ("12h", "1h30m").
func showDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
