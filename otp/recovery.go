package otp

import (
	"context"
	"errors"
	"html/template"
	"net/http"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

// recoveryCode accepts a recovery code in place of a lost factor. The engine
// offers it while the user has a factor and unused codes, and tells a user
// who signed in with one when few are left.
type recoveryCode struct{ dir *directory.Directory }

func (recoveryCode) Kind() string  { return signin.FactorRecovery }
func (recoveryCode) Label() string { return "Recovery code" }

func (recoveryCode) Form(*http.Request, *signin.Flow) (template.HTML, error) {
	return fragments.Fragment("recovery", nil)
}

// Submit uses up the code; a recovery code is a one-time password the user
// kept.
func (rc recoveryCode) Submit(ctx context.Context, r *http.Request, f *signin.Flow) error {
	_, err := rc.dir.UseRecoveryCode(ctx, f.UserID, r.PostForm.Get("code"), web.RemoteAddr(r), "web")
	if errors.Is(err, directory.ErrBadCode) {
		return &signin.StepError{Status: http.StatusUnauthorized, Message: "That recovery code is not right, or was used before."}
	}
	if err != nil {
		return codeError(err)
	}
	f.Proved(MethodOTP)
	return nil
}
