package otp

import (
	"embed"
	"errors"
	"net/http"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/web"
)

//go:embed web
var files embed.FS

var fragments = web.NewRenderer(nil, files, "web/*.html")

// Register adds to e the authenticator app as a second factor and as an
// enrollment, and recovery codes as a stand-in second factor.
func Register(e *signin.Engine, dir *directory.Directory) {
	e.AddSecondFactor(SecondFactor(dir))
	e.AddSecondFactor(RecoveryCode(dir))
	e.AddEnrollment(Enrollment(dir))
}

// SecondFactor returns the sign-in step that checks a code from the user's
// authenticator app.
func SecondFactor(dir *directory.Directory) signin.SecondFactor { return totpFactor{dir} }

// RecoveryCode returns the sign-in step that takes a recovery code in place
// of a lost factor.
func RecoveryCode(dir *directory.Directory) signin.SecondFactor { return recoveryCode{dir} }

// Enrollment returns the sign-in's "set up an authenticator app" choice,
// for a user who must use MFA and has no factor yet.
func Enrollment(dir *directory.Directory) signin.Enrollment { return enrollment{dir} }

// MethodOTP is the RFC 8176 method both kinds of code prove.
const MethodOTP = "otp"

// codeError maps a refused code to what the user reads.
func codeError(err error) error {
	if refusal := signin.Throttled(err); refusal != nil {
		return refusal
	}
	if errors.Is(err, directory.ErrBadCode) {
		return &signin.StepError{Status: http.StatusUnauthorized, Message: "That code is not right. Codes change every 30 seconds and work once: try the current one."}
	}
	return err
}
