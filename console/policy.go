package console

import (
	"net/http"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
)

// Policy and settings: the MFA requirement, which the console may change
// unless the configuration sets it, the password policy, and the
// settings that live only in the configuration, shown read-only with
// where each value comes from.

// Setting is one configuration value the policy page shows read-only.
type Setting struct {
	Key    string // as in the YAML file, such as ldap.anonymous
	Value  string
	Source string // "configuration" or "default"
	About  string
}

type policyView struct {
	MFA directory.MFAPolicy
	// MFAFixed says where the configuration sets the MFA policy; empty
	// when the console may change it.
	MFAFixed          string
	Groups            string // the form's value
	MinPasswordLength int
	Settings          []Setting
}

func (c *Console) policy(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	notice := map[string]string{"mfa": "The MFA policy is changed; it applies from the next sign-in."}[r.URL.Query().Get("done")]
	c.showPolicy(w, a, http.StatusOK, notice, "")
}

func (c *Console) showPolicy(w http.ResponseWriter, a signin.Account, status int, notice, problem string) {
	v := policyView{MFA: c.dir.MFAPolicy(), MFAFixed: c.mfaFixed, MinPasswordLength: directory.MinPasswordLength, Settings: c.settingsShown}
	v.Groups = strings.Join(v.MFA.Groups, ", ")
	c.show(w, status, "policy.html", "Policy and settings", view{Admin: a, Section: "policy", Notice: notice, Error: problem, Data: v})
}

// setMFA changes who must use a second factor, through the same
// directory operation a restart with the stored setting applies.
func (c *Console) setMFA(w http.ResponseWriter, r *http.Request) {
	a, ok := c.change(w, r)
	if !ok {
		return
	}
	if c.mfaFixed != "" {
		c.showPolicy(w, a, http.StatusConflict, "", "The MFA policy is set in "+c.mfaFixed+"; change it there.")
		return
	}
	var req directory.MFARequirement
	switch r.PostFormValue("require") {
	case "all":
		req.All = true
	case "groups":
		req.Groups = strings.FieldsFunc(r.PostFormValue("groups"), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' })
		if len(req.Groups) == 0 {
			c.showPolicy(w, a, http.StatusBadRequest, "", "Name at least one group, or choose another setting.")
			return
		}
	case "none":
	default:
		c.showPolicy(w, a, http.StatusBadRequest, "", "Choose who must use a second factor.")
		return
	}
	if err := c.dir.SetMFARequirement(r.Context(), req); err != nil {
		c.refuse(w, err, func(status int, message string) { c.showPolicy(w, a, status, "", message) })
		return
	}
	what := "mfa require none"
	if req.All {
		what = "mfa require all"
	} else if len(req.Groups) > 0 {
		what = "mfa require groups " + strings.Join(req.Groups, ",")
	}
	c.audit(r, a, "policy", what)
	http.Redirect(w, r, "/admin/policy?done=mfa", http.StatusSeeOther)
}
