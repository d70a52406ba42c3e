package passkey

import (
	"bytes"
	"context"
	"html/template"

	"github.com/atrium-dir/atrium/signin"
)

var templates = template.Must(template.ParseFS(files, "web/*.html"))

// recoveryCodesPath is the self-service form that issues new recovery codes
// and shows them once.
const recoveryCodesPath = "/account/recovery-codes"

// Section is the self-service page's part for passkeys: a form that
// registers one more. The page's list of sign-in methods shows and removes
// them, like every other factor.
type Section struct {
	// Off, when set, is why passkeys are not offered at this server's
	// address (ErrUnavailable); the section says so instead of the form.
	Off error
}

func (Section) ID() string               { return "passkeys" }
func (Section) Title() string            { return "Passkeys" }
func (Section) NeedsSecureContext() bool { return true }

// Render returns the form for a, or the reason passkeys are off.
func (s Section) Render(_ context.Context, a signin.Account) (template.HTML, error) {
	var buf bytes.Buffer
	err := templates.ExecuteTemplate(&buf, "section", struct {
		Off                                   bool
		CSRF, Begin, Finish, Script, Recovery string
	}{s.Off != nil, a.CSRF, registerBeginPath, registerFinishPath, ScriptPath, recoveryCodesPath})
	return template.HTML(buf.String()), err
}
