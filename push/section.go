package push

import (
	"bytes"
	"context"
	"html/template"

	"github.com/atrium-dir/atrium/signin"
)

// Section is push approvals' part of the self-service page: where to set
// up a phone, and the switch to turn approvals back on after "this wasn't
// me". The phones themselves are listed with the other factors.
type Section struct{ approvals *Approvals }

// NewSection returns the self-service section of push approvals.
func NewSection(a *Approvals) Section { return Section{approvals: a} }

func (Section) ID() string               { return "push" }
func (Section) Title() string            { return "Approve sign-ins on your phone" }
func (Section) NeedsSecureContext() bool { return true }

var sectionTemplate = template.Must(template.New("section").Parse(`{{if .Suspended}}<div class="error" role="alert">
<p>Approvals on your phone are paused because you reported a sign-in that was not yours. Change your password first if you have not, then turn them back on.</p>
<form method="post" action="/push/resume">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<button type="submit">Turn approvals back on</button>
</form>
</div>
{{end}}<p>Get a notification on your phone when you sign in, pick the number shown on the screen and confirm with the phone's passkey.</p>
<p><a class="button secondary" href="/push/phone">Set up a phone</a></p>
`))

func (s Section) Render(ctx context.Context, a signin.Account) (template.HTML, error) {
	var b bytes.Buffer
	err := sectionTemplate.Execute(&b, struct {
		Suspended bool
		CSRF      string
	}{s.approvals.Suspended(ctx, a.User.ID), a.CSRF})
	return template.HTML(b.String()), err
}
