package directory

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

const (
	// settingsKey names the stored settings record in bMeta.
	settingsKey = "settings"
	// legacyMFAKey is the secret in which releases before the settings
	// record stored the MFA requirement; it is read until the first
	// change of a setting replaces it.
	legacyMFAKey = "setting:mfa"
)

// Sources of a setting's value (SettingInfo.Source).
const (
	SourceConfiguration = "configuration"
	SourceStored        = "stored"
	SourceDefault       = "default"
)

// FixedSetting is a setting the configuration sets (Options.Fixed).
type FixedSetting struct {
	Value  string // as the configuration gives it
	Source string // where, as an admin reads it: "the configuration file (ldap.anonymous)"
}

// SettingInfo is one run-time setting as the console and `atrium
// settings show` present it.
type SettingInfo struct {
	Key   string `json:"key"`
	About string `json:"about"`
	Value string `json:"value"` // as ParseSetting shows it
	// Choices are the values it may take, when they are few.
	Choices []string `json:"choices,omitempty"`
	Source  string   `json:"source"` // SourceConfiguration, SourceStored or SourceDefault
	// FixedBy says where the configuration sets it; empty when an admin
	// may change it.
	FixedBy string `json:"fixedBy,omitempty"`
}

// Changer names who makes a change, for the audit log.
type Changer struct {
	Actor   string // the admin's uid, or the Unix user who ran a command
	Remote  string // their address
	Service string // console or cli
}

// storedSettings is the record: the values admins set, and which keys
// they set (a key not in Set takes the configuration's value or the
// default, even when Values holds something for it).
type storedSettings struct {
	Set    []string `json:"set"`
	Values Settings `json:"values"`
	legacy bool     // read from legacyMFAKey
}

func (st storedSettings) has(key string) bool { return slices.Contains(st.Set, key) }

// settingsState is what a Directory holds in memory: the stored record
// and the settings in force.
type settingsState struct {
	stored    storedSettings
	effective Settings
	gen       uint64 // settingsGen when the record was read
}

// initSettings works out the settings that do not come from the store:
// the defaults, Options.Settings and Options.MFA, then the configuration's
// fixed values, which it checks.
func (d *Directory) initSettings(opt Options) error {
	base := opt.Settings.withDefaults()
	if opt.MFA.All || len(opt.MFA.Groups) > 0 || len(opt.MFA.LDAPAppPasswordOnly) > 0 {
		base = base.withPolicy(opt.MFA)
	}
	d.fixed = map[string]string{}
	var errs []error
	for _, key := range slices.Sorted(maps.Keys(opt.Fixed)) {
		f := opt.Fixed[key]
		def, err := lookupSetting(key)
		if err == nil {
			err = def.parse(&base, strings.TrimSpace(f.Value))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.Source, err))
		}
		d.fixed[key] = cmp.Or(f.Source, "the configuration")
	}
	// Who must use a second factor is one choice: the configuration sets
	// both halves or neither.
	for _, pair := range [][2]string{{KeyMFARequire, KeyMFAGroups}, {KeyMFAGroups, KeyMFARequire}} {
		if src, ok := d.fixed[pair[0]]; ok {
			if _, both := d.fixed[pair[1]]; both {
				continue
			}
			d.fixed[pair[1]] = src
		}
	}
	d.settingsBase = base
	return errors.Join(errs...)
}

// effective is the settings in force with st stored.
func (d *Directory) effective(st storedSettings) Settings {
	s := d.settingsBase.clone()
	for _, def := range settingDefs {
		if _, fixed := d.fixed[def.key]; !fixed && st.has(def.key) {
			def.take(&s, st.Values)
		}
	}
	return s
}

// readStoredSettings reads the record, or the MFA requirement an older
// release stored, or nothing.
func readStoredSettings(r Reader) (storedSettings, error) {
	var st storedSettings
	err := getJSON(r.tx, bMeta, settingsKey, &st)
	if !errors.Is(err, ErrNotFound) {
		return st, err
	}
	sealed, err := r.tx.Get(bSecrets, legacyMFAKey)
	if errors.Is(err, ErrNotFound) {
		return st, nil
	} else if err != nil {
		return st, err
	}
	raw, err := boxOf(r.tx).open(sealed, "secret:"+legacyMFAKey)
	if err != nil {
		return st, err
	}
	var req struct {
		All    bool     `json:"all"`
		Groups []string `json:"groups"`
	}
	if err := json.Unmarshal(raw, &req); err != nil {
		return st, fmt.Errorf("stored MFA requirement: %w", err)
	}
	st.Values = st.Values.withPolicy(MFAPolicy{All: req.All, Groups: req.Groups})
	return storedSettings{Set: []string{KeyMFARequire, KeyMFAGroups}, Values: st.Values, legacy: true}, nil
}

// reloadSettings reads the stored record and puts the settings it gives
// in force. Reloads run one at a time, so the last to finish read the
// last record.
func (d *Directory) reloadSettings(ctx context.Context) error {
	d.settingsMu.Lock()
	defer d.settingsMu.Unlock()
	gen := d.settingsGen.Load()
	st, err := view(ctx, d, readStoredSettings)
	if err != nil {
		return fmt.Errorf("read the stored settings: %w", err)
	}
	d.settingsNow.Store(&settingsState{stored: st, effective: d.effective(st), gen: gen})
	return nil
}

// reloadSettingsLater is reloadSettings for a change seen on a shared
// store, which tells of it on a loop that must not wait. Until it is
// done, fresh reloads them itself before a login.
func (d *Directory) reloadSettingsLater() {
	d.settingsGen.Add(1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.reloadSettings(ctx); err != nil {
			d.log.Warn("settings changed on another node; keeping the last ones read", "err", err)
		}
	}()
}

// freshSettings reloads the settings before a login when a shared store
// told of a change that reloadSettingsLater has not read yet.
func (d *Directory) freshSettings(ctx context.Context) {
	if d.settingsNow.Load().gen == d.settingsGen.Load() {
		return
	}
	if err := d.reloadSettings(ctx); err != nil {
		d.log.Warn("settings changed on another node; keeping the last ones read", "err", err)
	}
}

func (d *Directory) current() *Settings { return &d.settingsNow.Load().effective }

// Settings returns the run-time settings in force.
func (d *Directory) Settings() Settings { return d.current().clone() }

// MFAPolicy returns the second-factor policy in force.
func (d *Directory) MFAPolicy() MFAPolicy { return d.current().MFAPolicy() }

// LDAPAccess returns ldap.anonymous and ldap.user_read in force, without
// copying anything, for checks made on every entry a search reads.
func (d *Directory) LDAPAccess() (anonymous, userRead string) {
	s := d.current()
	return s.Anonymous, s.UserRead
}

// SessionTimes returns the session lifetimes and the recent sign-in window
// in force, without copying anything, for checks made on every request.
func (d *Directory) SessionTimes() (idle, max, recent time.Duration) {
	s := d.current()
	return s.SessionIdle, s.SessionMax, s.RecentSignIn
}

// SettingsInfo lists every run-time setting with its value and where the
// value comes from.
func (d *Directory) SettingsInfo() []SettingInfo {
	state := d.settingsNow.Load()
	out := make([]SettingInfo, 0, len(settingDefs))
	for _, def := range settingDefs {
		info := SettingInfo{Key: def.key, About: def.about, Value: def.show(state.effective), Choices: def.choices, Source: SourceDefault}
		if src, ok := d.fixed[def.key]; ok {
			info.Source, info.FixedBy = SourceConfiguration, src
		} else if state.stored.has(def.key) {
			info.Source = SourceStored
		}
		out = append(out, info)
	}
	return out
}

// SetSettings changes run-time settings (key to text, as ParseSetting
// reads it; "" returns a setting to its default) in one step, and puts
// them in force at once for every front end. It refuses, changing
// nothing: a key the configuration sets (ErrConflict), an unknown key, a
// bad value, a group that does not exist, and mfa.require groups without
// a group (ErrInvalid). A value equal to the one in force is not stored.
// Each change is audited with by.
func (d *Directory) SetSettings(ctx context.Context, changes map[string]string, by Changer) error {
	keys := slices.Sorted(maps.Keys(changes))
	for _, k := range keys {
		if _, err := lookupSetting(k); err != nil {
			return err
		}
		if src, ok := d.fixed[k]; ok {
			return fmt.Errorf("%s is set in %s; change it there: %w", k, src, ErrConflict)
		}
	}
	var done []string
	err := d.store.Update(ctx, func(tx Tx) error {
		r := Reader{boxTx{tx, d.box}, d.now}
		st, err := readStoredSettings(r)
		if err != nil {
			return err
		}
		next, changed, err := d.applySettings(st, changes, keys)
		if err != nil || len(changed) == 0 {
			return err
		}
		if err := checkSettings(r, d.effective(next), changed); err != nil {
			return err
		}
		done = changed
		if err := putJSON(tx, bMeta, settingsKey, next); err != nil {
			return err
		}
		if st.legacy {
			return tx.Delete(bSecrets, legacyMFAKey)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("change settings: %w", err)
	}
	if err := d.reloadSettings(ctx); err != nil {
		return err
	}
	d.auditSettings(done, by)
	return nil
}

// applySettings is st with changes made; changed lists the keys whose
// value in force, or whose being set, changes.
func (d *Directory) applySettings(st storedSettings, changes map[string]string, keys []string) (storedSettings, []string, error) {
	before := d.effective(st)
	next := storedSettings{Set: slices.Clone(st.Set), Values: st.Values.clone()}
	var changed []string
	for _, k := range keys {
		def, _ := lookupSetting(k)
		v := strings.TrimSpace(changes[k])
		if v == "" {
			if next.has(k) {
				next.Set = slices.DeleteFunc(next.Set, func(s string) bool { return s == k })
				changed = append(changed, k)
			}
			continue
		}
		if err := def.parse(&next.Values, v); err != nil {
			return st, nil, err
		}
		if def.show(next.Values) == def.show(before) {
			def.take(&next.Values, st.Values)
			continue
		}
		if !next.has(k) {
			next.Set = append(next.Set, k)
		}
		changed = append(changed, k)
	}
	return next, changed, nil
}

// checkSettings applies the rules that span settings or need the store:
// every group named in a changed list exists, so that a typo cannot
// silently require nothing of anyone, and mfa.require groups names one.
func checkSettings(r Reader, s Settings, changed []string) error {
	if s.MFARequire == "groups" && len(s.MFAGroups) == 0 {
		return fmt.Errorf("%s is groups: name at least one group in %s: %w", KeyMFARequire, KeyMFAGroups, ErrInvalid)
	}
	lists := map[string][]string{KeyMFAGroups: s.MFAGroups, KeyAppPasswordOnly: s.AppPasswordOnlyGroups}
	for _, k := range changed {
		for _, cn := range lists[k] {
			if _, err := r.GroupByCN(cn); errors.Is(err, ErrNotFound) {
				return fmt.Errorf("%s: there is no group %q: %w", k, cn, ErrInvalid)
			} else if err != nil {
				return err
			}
		}
	}
	return nil
}

// auditSettings records each changed setting with its new value.
func (d *Directory) auditSettings(keys []string, by Changer) {
	info := d.SettingsInfo()
	for _, k := range keys {
		i := slices.IndexFunc(info, func(s SettingInfo) bool { return s.Key == k })
		what := "set " + k + " " + info[i].Value
		if info[i].Source == SourceDefault {
			what = "reset " + k + " to the default " + info[i].Value
		}
		d.Audit(AuditEvent{Kind: "admin", Subject: "settings", Actor: by.Actor, Remote: by.Remote, Service: by.Service, Result: ResultOK, Detail: what})
	}
}
