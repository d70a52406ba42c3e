package passkey

import (
	"bytes"
	"context"
	"html/template"

	"github.com/atrium-dir/atrium/portal"
)

var templates = template.Must(template.ParseFS(web, "web/*.html"))

// recoveryCodesPath is the self-service form that issues new recovery codes
// and shows them once.
const recoveryCodesPath = "/account/recovery-codes"

// Section is the self-service page's part for passkeys: a form that
// registers one more. The page's list of sign-in methods shows and removes
// them, like every other factor.
type Section struct{}

var _ portal.AccountSection = Section{}

func (Section) ID() string               { return "passkeys" }
func (Section) Title() string            { return "Passkeys" }
func (Section) NeedsSecureContext() bool { return true }

// Render returns the form for a.
func (Section) Render(_ context.Context, a portal.Account) (template.HTML, error) {
	var buf bytes.Buffer
	err := templates.ExecuteTemplate(&buf, "section", struct {
		CSRF, Begin, Finish, Script, Recovery string
	}{a.CSRF, registerBeginPath, registerFinishPath, ScriptPath, recoveryCodesPath})
	return template.HTML(buf.String()), err
}
