package console

import (
	"net/http"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// Policy and settings: the directory's run-time settings, which the
// console changes unless the configuration sets them (then it shows them
// read-only, naming where), the password policy, and the settings that
// live only in the configuration.

// Setting is one configuration-only value the policy page shows
// read-only.
type Setting struct {
	Key    string // as in the YAML file, such as samba.enabled
	Value  string
	Source string // "configuration" or "default"
	About  string // what it does, and why it is configuration-only
}

type policyView struct {
	MFA directory.MFAPolicy
	// MFAFixed says where the configuration sets the MFA policy; empty
	// when the console may change it.
	MFAFixed          string
	Groups            string // the form's value
	MinPasswordLength string
	// Runtime are the run-time settings but the MFA policy's two.
	Runtime  []directory.SettingInfo
	Settings []Setting
}

func (c *Console) policy(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	notice := map[string]string{
		"mfa":      "The MFA policy is changed; it applies from the next sign-in.",
		"settings": "The settings are saved; they apply now.",
	}[r.URL.Query().Get("done")]
	c.showPolicy(w, a, http.StatusOK, notice, "")
}

func (c *Console) showPolicy(w http.ResponseWriter, a signin.Account, status int, notice, problem string) {
	v := policyView{MFA: c.dir.MFAPolicy(), Settings: c.settingsShown}
	for _, s := range c.dir.SettingsInfo() {
		switch s.Key {
		case directory.KeyMFARequire:
			v.MFAFixed = s.FixedBy
		case directory.KeyMFAGroups:
			v.Groups = strings.ReplaceAll(s.Value, ",", ", ")
		default:
			if s.Key == directory.KeyMinPasswordLength {
				v.MinPasswordLength = s.Value
			}
			v.Runtime = append(v.Runtime, s)
		}
	}
	c.show(w, status, "policy.html", "Policy and settings", view{Admin: a, Section: "policy", Notice: notice, Error: problem, Data: v})
}

// by is the admin making a change, for the directory's audit log.
func by(r *http.Request, a signin.Account) directory.Changer {
	return directory.Changer{Actor: a.User.UID, Remote: web.RemoteAddr(r), Service: "console"}
}

// setMFA changes who must use a second factor, through the directory's
// SetSettings as `atrium settings set mfa.require …` does.
func (c *Console) setMFA(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	changes := map[string]string{directory.KeyMFARequire: r.PostFormValue("require")}
	switch changes[directory.KeyMFARequire] {
	case "groups":
		changes[directory.KeyMFAGroups] = r.PostFormValue("groups")
		if strings.Trim(changes[directory.KeyMFAGroups], ", \r\n") == "" {
			c.showPolicy(w, a, http.StatusBadRequest, "", "Name at least one group, or choose another setting.")
			return
		}
	case "all", "none":
	default:
		c.showPolicy(w, a, http.StatusBadRequest, "", "Choose who must use a second factor.")
		return
	}
	c.saveSettings(w, r, a, changes, "mfa")
}

// setSettings saves the settings form: every run-time setting the
// configuration leaves to the console, but the MFA policy's. A value
// left as it was is not stored; an emptied one returns to its default.
func (c *Console) setSettings(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	changes := map[string]string{}
	for _, s := range c.dir.SettingsInfo() {
		if s.Key == directory.KeyMFARequire || s.Key == directory.KeyMFAGroups || s.FixedBy != "" {
			continue
		}
		if v, ok := r.PostForm[s.Key]; ok && len(v) == 1 {
			changes[s.Key] = v[0]
		}
	}
	c.saveSettings(w, r, a, changes, "settings")
}

func (c *Console) saveSettings(w http.ResponseWriter, r *http.Request, a signin.Account, changes map[string]string, done string) {
	if err := c.dir.SetSettings(r.Context(), changes, by(r, a)); err != nil {
		c.refuse(w, err, func(status int, message string) { c.showPolicy(w, a, status, "", message) })
		return
	}
	http.Redirect(w, r, "/admin/policy?done="+done, http.StatusSeeOther)
}
