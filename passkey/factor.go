package passkey

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// MethodHWK is the RFC 8176 method a passkey proves: possession of a key
// the authenticator keeps.
const MethodHWK = "hwk"

// SecondFactor returns the sign-in's "Use your passkey" step, for
// signin.AddSecondFactor.
func (p *Passkeys) SecondFactor() signin.SecondFactor { return signIn{p} }

// signIn proves a passkey as the second factor of a sign-in flow. Each
// showing of the form begins a ceremony bound to the flow; the browser's
// assertion comes back in the form post.
type signIn struct{ keys *Passkeys }

var _ signin.SecondFactor = signIn{}

func (signIn) Kind() string  { return directory.FactorPasskey }
func (signIn) Label() string { return "Passkey" }

// Form begins the assertion. User verification is preferred, not
// required: the password already stands for "something you know".
func (s signIn) Form(r *http.Request, f *signin.Flow) (template.HTML, error) {
	c, err := s.keys.beginLogin(r.Context(), purposeLogin, f.UserID, f.ID, protocol.VerificationPreferred, nil)
	if err != nil {
		return "", err
	}
	return ceremonyForm("signin", c)
}

// ceremonyForm renders the step's form (template name) for the ceremony c
// begun for it: the browser script reads the options and posts the result.
func ceremonyForm(name string, c Challenge) (template.HTML, error) {
	options, err := json.Marshal(c.Options)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	err = templates.ExecuteTemplate(&buf, name, struct {
		Ceremony, Options, Script string
	}{c.Ceremony, string(options), ScriptPath})
	return template.HTML(buf.String()), err
}

// Submit verifies the posted assertion and proves MethodHWK.
func (s signIn) Submit(ctx context.Context, r *http.Request, f *signin.Flow) error {
	at := Attempt{Remote: web.RemoteAddr(r), Service: "web"}
	_, err := s.keys.finishLogin(ctx, purposeLogin, f.UserID, f.ID, r.PostForm.Get("ceremony"), []byte(r.PostForm.Get("assertion")), at)
	if err != nil {
		return stepError(err)
	}
	f.Proved(MethodHWK)
	return nil
}

// stepError maps a refused passkey to what the sign-in page says.
func stepError(err error) error {
	if refusal := signin.Throttled(err); refusal != nil {
		return refusal
	}
	switch {
	case errors.Is(err, ErrCeremony):
		return &signin.StepError{Status: http.StatusBadRequest, Message: "The passkey request expired. Try again."}
	case errors.Is(err, ErrRefused):
		return &signin.StepError{Status: http.StatusUnauthorized, Message: "That passkey was not accepted. Use a passkey registered for your account."}
	case errors.Is(err, ErrCloned):
		return &signin.StepError{Status: http.StatusForbidden, Message: "This passkey may have been copied, so it no longer signs in. Use another way, then remove it and add it again."}
	}
	return err
}
