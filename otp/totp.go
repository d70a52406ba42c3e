package otp

import (
	"context"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/totp"
	"github.com/atrium-dir/atrium/web"
)

// totpFactor checks a code from the user's authenticator app.
type totpFactor struct{ dir *directory.Directory }

func (totpFactor) Kind() string  { return directory.FactorTOTP }
func (totpFactor) Label() string { return "Authenticator app" }

func (totpFactor) Form(*http.Request, *signin.Flow) (template.HTML, error) {
	return fragments.Fragment("totp", nil)
}

func (t totpFactor) Submit(ctx context.Context, r *http.Request, f *signin.Flow) error {
	if err := t.dir.VerifyTOTP(ctx, f.UserID, r.PostForm.Get("code"), web.RemoteAddr(r), "web"); err != nil {
		return codeError(err)
	}
	f.Proved(MethodOTP)
	return nil
}

// enrollment sets up an authenticator app during sign-in: QR code and text
// secret, confirmed by a first code.
type enrollment struct{ dir *directory.Directory }

func (enrollment) Kind() string  { return directory.FactorTOTP }
func (enrollment) Label() string { return "Authenticator app" }

// kindEnroll keeps, by flow, the sealed secret being enrolled, so that a
// reload shows the same one.
const kindEnroll = "totp-enroll"

func purpose(f *signin.Flow) string { return "totp-enroll:" + f.ID }

type enrollData struct {
	QR     template.URL // data: URL of a PNG
	Secret string       // base32, in groups of four
}

// Form shows the flow's pending secret, the same one on every reload.
func (en enrollment) Form(r *http.Request, f *signin.Flow) (template.HTML, error) {
	ctx := r.Context()
	secret, err := en.secret(ctx, f)
	if err != nil {
		return "", err
	}
	u, err := en.dir.UserByID(ctx, f.UserID)
	if err != nil {
		return "", err
	}
	png, err := totp.QRCode(totp.URI("Atrium", u.UID, secret), 240)
	if err != nil {
		return "", err
	}
	return fragments.Fragment("totp-enroll", enrollData{
		QR:     template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		Secret: totp.SpacedSecret(secret),
	})
}

// secret returns the flow's pending secret, beginning an enrollment on
// first showing. It is kept sealed and bound to the flow, until the flow
// ends.
func (en enrollment) secret(ctx context.Context, f *signin.Flow) ([]byte, error) {
	var sealed []byte
	err := en.dir.State(ctx, kindEnroll, f.ID, &sealed)
	if err == nil {
		return en.dir.Unseal(sealed, purpose(f))
	}
	if !errors.Is(err, directory.ErrNotFound) {
		return nil, err
	}
	secret, err := en.dir.BeginTOTP(ctx, f.UserID)
	if err != nil {
		return nil, err
	}
	if sealed, err = en.dir.Seal(secret, purpose(f)); err != nil {
		return nil, err
	}
	return secret, en.dir.PutState(ctx, kindEnroll, f.ID, sealed, f.Expires)
}

func (en enrollment) Submit(ctx context.Context, r *http.Request, f *signin.Flow) error {
	if _, err := en.dir.ConfirmTOTP(ctx, f.UserID, "Authenticator app", r.PostForm.Get("code"), web.RemoteAddr(r)); err != nil {
		return codeError(err)
	}
	f.Proved(MethodOTP)
	return en.dir.DeleteState(ctx, kindEnroll, f.ID)
}
