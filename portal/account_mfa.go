package portal

import (
	"context"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/totp"
	"github.com/atrium-dir/atrium/web"
)

// accountMFA is the second-factor part of the self-service page.
type accountMFA struct {
	Factors  []accountFactor
	Required bool
	// RecoveryLeft is how many unused recovery codes remain; LowRecovery
	// warns when few do.
	RecoveryLeft int
	LowRecovery  bool
}

func (p *Portal) accountMFAState(ctx context.Context, u directory.User) (accountMFA, error) {
	var v accountMFA
	factors, err := p.dir.Factors(ctx, u.ID)
	if err != nil {
		return v, err
	}
	for _, f := range factors {
		v.Factors = append(v.Factors, accountFactor{Factor: f, KindName: accountKindName(f.Kind)})
	}
	if v.Required, err = p.dir.MFARequired(ctx, u.ID); err != nil {
		return v, err
	}
	if v.RecoveryLeft, err = p.dir.RecoveryCodesLeft(ctx, u.ID); err != nil {
		return v, err
	}
	v.LowRecovery = len(v.Factors) > 0 && v.RecoveryLeft <= signin.FewRecoveryCodes
	return v, nil
}

// accountFactor is one enrolled factor on the page.
type accountFactor struct {
	directory.Factor
	KindName string
}

// accountKindName names a kind of factor for people.
func accountKindName(kind string) string {
	switch kind {
	case directory.FactorTOTP:
		return "Authenticator app"
	case directory.FactorPasskey:
		return "Passkey"
	case directory.FactorPush:
		return "Phone for push"
	}
	return kind
}

// accountTOTP is account-totp.html: the secret of a pending enrollment, as a
// QR code and as text, and the form that confirms it with a first code.
type accountTOTP struct {
	CSRF   string
	Secret string // base32, as authenticator apps take it typed
	// Spaced is Secret in groups of four, easier to read and type.
	Spaced string
	QR     template.URL
	Name   string
	Error  string
}

// accountTOTPIssuer labels the account in authenticator apps.
const accountTOTPIssuer = "Atrium"

// accountBeginTOTP starts an enrollment and shows its secret.
func (p *Portal) accountBeginTOTP(w http.ResponseWriter, r *http.Request) {
	a, ok := p.signin.AccountChange(w, r)
	if !ok {
		return
	}
	secret, err := p.dir.BeginTOTP(r.Context(), a.User.ID)
	if err != nil {
		p.fail(w, "begin totp", err)
		return
	}
	p.showAccountTOTP(w, a, http.StatusOK, secret, "", "")
}

func (p *Portal) showAccountTOTP(w http.ResponseWriter, a signin.Account, status int, secret []byte, name, problem string) {
	png, err := totp.QRCode(totp.URI(accountTOTPIssuer, a.User.UID, secret), 256)
	if err != nil {
		p.fail(w, "totp qr code", err)
		return
	}
	p.renderAccount(w, status, "account-totp.html", "Add an authenticator app", accountTOTP{
		CSRF:   a.CSRF,
		Secret: totp.EncodeSecret(secret),
		Spaced: totp.SpacedSecret(secret),
		QR:     template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		Name:   name,
		Error:  problem,
	})
}

// accountConfirmTOTP enrolls the pending secret when the code is right.
// The first factor comes with recovery codes, shown at once.
func (p *Portal) accountConfirmTOTP(w http.ResponseWriter, r *http.Request) {
	a, ok := p.signin.Account(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	name := strings.TrimSpace(r.PostForm.Get("name"))
	_, err := p.dir.ConfirmTOTP(ctx, a.User.ID, name, r.PostForm.Get("code"), web.RemoteAddr(r))
	if err != nil {
		p.accountTOTPRefused(w, r, a, name, err)
		return
	}
	left, err := p.dir.RecoveryCodesLeft(ctx, a.User.ID)
	if err != nil {
		p.fail(w, "recovery codes", err)
		return
	}
	if left > 0 {
		http.Redirect(w, r, "/?done=totp#factors", http.StatusSeeOther)
		return
	}
	codes, err := p.dir.NewRecoveryCodes(ctx, a.User.ID)
	if err != nil {
		p.fail(w, "recovery codes", err)
		return
	}
	p.showAccountRecoveryCodes(w, "Authenticator app added", codes, false)
}

// accountTOTPRefused shows the enrollment again after a refused code. The
// secret comes back from the form: the one stored is sealed, and only a code
// for it is ever accepted, so a changed value only misleads its sender.
func (p *Portal) accountTOTPRefused(w http.ResponseWriter, r *http.Request, a signin.Account, name string, err error) {
	var problem string
	status := http.StatusBadRequest
	refusal := signin.Throttled(err)
	switch {
	case refusal != nil:
		status, problem = refusal.Status, refusal.Message
	case errors.Is(err, directory.ErrBadCode):
		status, problem = http.StatusForbidden, "That code is not right, or this enrollment has expired. Check the time on your phone and enter the code shown now."
	case errors.Is(err, directory.ErrInvalid):
		problem = "Give the app a name of 1 to 64 characters, such as the phone it is on."
	default:
		p.fail(w, "confirm totp", err)
		return
	}
	secret, decodeErr := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(r.PostForm.Get("secret"))
	if decodeErr != nil || len(secret) != totp.SecretSize {
		p.showAccount(w, r, a, status, "", problem+" Start again with Add an authenticator app.")
		return
	}
	p.showAccountTOTP(w, a, status, secret, name, problem)
}

// accountRemoveFactor deletes one of the user's factors, never the last one
// while MFA is required of them.
func (p *Portal) accountRemoveFactor(w http.ResponseWriter, r *http.Request) {
	a, ok := p.signin.AccountChange(w, r)
	if !ok {
		return
	}
	err := p.dir.RemoveFactor(r.Context(), a.User.ID, r.PostForm.Get("id"))
	switch {
	case errors.Is(err, directory.ErrLastFactor):
		p.refuseForm(w, r, a, http.StatusConflict, "This is your only sign-in method, and your organisation requires one. Add another method first, then remove this one.")
		return
	case errors.Is(err, directory.ErrNotFound):
		p.refuseForm(w, r, a, http.StatusNotFound, "This sign-in method no longer exists; it may be removed already.")
		return
	case err != nil:
		p.fail(w, "remove factor", err)
		return
	}
	http.Redirect(w, r, "/?done=factor#factors", http.StatusSeeOther)
}

// accountNewRecoveryCodes replaces the user's recovery codes and shows the
// new ones once. It also issues the first ones, when the user's first
// factor comes without them (a passkey's page asks for them at once).
func (p *Portal) accountNewRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	a, ok := p.signin.AccountChange(w, r)
	if !ok {
		return
	}
	factors, err := p.dir.Factors(r.Context(), a.User.ID)
	if err != nil {
		p.fail(w, "factors", err)
		return
	}
	if len(factors) == 0 {
		p.refuseForm(w, r, a, http.StatusConflict, "Recovery codes stand in for a second sign-in method. Add one first.")
		return
	}
	left, err := p.dir.RecoveryCodesLeft(r.Context(), a.User.ID)
	if err != nil {
		p.fail(w, "recovery codes", err)
		return
	}
	codes, err := p.dir.NewRecoveryCodes(r.Context(), a.User.ID)
	if err != nil {
		p.fail(w, "recovery codes", err)
		return
	}
	if left == 0 {
		p.showAccountRecoveryCodes(w, "Your recovery codes", codes, false)
		return
	}
	p.showAccountRecoveryCodes(w, "Recovery codes replaced", codes, true)
}

// showAccountRecoveryCodes shows codes once; replaced says older unused
// ones existed and no longer work.
func (p *Portal) showAccountRecoveryCodes(w http.ResponseWriter, title string, codes []string, replaced bool) {
	hint := "Each code signs you in once when you cannot use your phone or key. Keep them somewhere safe, apart from your phone. They are shown only now."
	if replaced {
		hint += " Your older codes no longer work."
	}
	p.renderAccount(w, http.StatusOK, "account-reveal.html", title, accountReveal{
		What:  "Your recovery codes",
		Codes: codes,
		Hint:  hint,
	})
}
