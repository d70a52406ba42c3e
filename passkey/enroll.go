package passkey

import (
	"context"
	"errors"
	"html/template"
	"net/http"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
)

// Enrollment returns the sign-in's "create a passkey" choice, for
// signin.AddEnrollment: a user who must use MFA but has no factor yet
// registers a passkey during the sign-in instead of an authenticator app.
func (p *Passkeys) Enrollment() signin.Enrollment { return enroll{p} }

// enroll registers a first passkey within a sign-in flow. Each showing of
// the form begins a registration bound to the flow (as signIn binds its
// assertions); the browser's attestation comes back in the form post.
type enroll struct{ keys *Passkeys }

var _ signin.Enrollment = enroll{}

func (enroll) Kind() string  { return directory.FactorPasskey }
func (enroll) Label() string { return "Passkey" }

func (e enroll) Form(r *http.Request, f *signin.Flow) (template.HTML, error) {
	c, err := e.keys.BeginRegistration(r.Context(), f.UserID, f.ID)
	if err != nil {
		return "", err
	}
	return ceremonyForm("enroll", c)
}

// Submit stores the new passkey and proves MethodHWK: the user has just
// shown they hold the key.
func (e enroll) Submit(ctx context.Context, r *http.Request, f *signin.Flow) error {
	_, err := e.keys.FinishRegistration(ctx, f.UserID, f.ID, r.PostForm.Get("ceremony"), r.PostForm.Get("name"), []byte(r.PostForm.Get("credential")))
	switch {
	case errors.Is(err, ErrName):
		return &signin.StepError{Status: http.StatusBadRequest, Message: "Name the passkey with 1 to 64 characters, such as the device it is on."}
	case errors.Is(err, ErrRefused):
		return &signin.StepError{Status: http.StatusBadRequest, Message: "The passkey could not be created. Try again."}
	case err != nil:
		return stepError(err)
	}
	f.Proved(MethodHWK)
	return nil
}
