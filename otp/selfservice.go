package otp

import (
	"encoding/base32"
	"encoding/base64"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strings"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
	"github.com/atrium-dir/atrium/totp"
	"github.com/atrium-dir/atrium/web"
)

// The self-service forms, next to the portal's under /account/. The
// passkey section (package passkey) posts to recoveryCodesPath after a
// first passkey.
const (
	beginTOTPPath     = "/account/totp"
	confirmTOTPPath   = "/account/totp/confirm"
	recoveryCodesPath = "/account/recovery-codes"
)

// SelfService serves the self-service forms of codes: adding an
// authenticator app (QR code, key, first code) and making new recovery
// codes. The page's parts that post to them are AppSection and
// RecoverySection. Build it with NewSelfService.
type SelfService struct {
	dir    *directory.Directory
	signin *signin.Engine
	log    *slog.Logger
	pages  *web.Renderer
}

// Options holds the self-service forms' logger; nil discards.
type Options struct {
	Logger *slog.Logger
}

// NewSelfService returns the self-service forms over dir, for users signed
// in through e.
func NewSelfService(dir *directory.Directory, e *signin.Engine, opts Options) *SelfService {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &SelfService{dir: dir, signin: e, log: log, pages: web.NewRenderer(log, files, "web/*.html")}
}

// Mount adds the forms to mux, behind web.Protect.
func (s *SelfService) Mount(mux *http.ServeMux) {
	mux.Handle("POST "+beginTOTPPath, web.Protect(http.HandlerFunc(s.beginTOTP), s.log))
	mux.Handle("POST "+confirmTOTPPath, web.Protect(http.HandlerFunc(s.confirmTOTP), s.log))
	mux.Handle("POST "+recoveryCodesPath, web.Protect(http.HandlerFunc(s.newRecoveryCodes), s.log))
}

// render draws a page in the self-service card, under the policy of the
// self-service pages.
func (s *SelfService) render(w http.ResponseWriter, status int, name, title string, data any) {
	w.Header().Set("Content-Security-Policy", web.AppCSP)
	s.pages.Render(w, status, name, web.Page{Title: title, Wide: true, Styles: []string{"/assets/account.css"}, Data: data})
}

// refuse answers a form that cannot go through with why, and a way back to
// section on the self-service page.
func (s *SelfService) refuse(w http.ResponseWriter, status int, title, message, section string) {
	s.pages.Render(w, status, "message.html", web.Page{Title: title, Message: message, Link: &web.Link{Href: "/#" + section, Text: "Back to your account"}})
}

func (s *SelfService) fail(w http.ResponseWriter, what string, err error) {
	s.pages.Fail(w, "otp: "+what, err)
}

// appView is app-enroll.html: the secret of a pending enrollment, as a QR
// code and as text, and the form that confirms it with a first code.
type appView struct {
	CSRF   string
	Action string
	Secret string // base32, as authenticator apps take it typed
	// Spaced is Secret in groups of four, easier to read and type.
	Spaced string
	QR     template.URL
	Name   string
	Error  string
}

// issuer labels the account in authenticator apps.
const issuer = "Atrium"

// beginTOTP starts an enrollment and shows its secret.
func (s *SelfService) beginTOTP(w http.ResponseWriter, r *http.Request) {
	a, ok := s.signin.AccountChange(w, r)
	if !ok {
		return
	}
	secret, err := s.dir.BeginTOTP(r.Context(), a.User.ID)
	if err != nil {
		s.fail(w, "begin totp", err)
		return
	}
	s.showEnrollment(w, a, http.StatusOK, secret, "", "")
}

func (s *SelfService) showEnrollment(w http.ResponseWriter, a signin.Account, status int, secret []byte, name, problem string) {
	png, err := totp.QRCode(totp.URI(issuer, a.User.UID, secret), 256)
	if err != nil {
		s.fail(w, "totp qr code", err)
		return
	}
	s.render(w, status, "app-enroll.html", "Add an authenticator app", appView{
		CSRF:   a.CSRF,
		Action: confirmTOTPPath,
		Secret: totp.EncodeSecret(secret),
		Spaced: totp.SpacedSecret(secret),
		QR:     template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		Name:   name,
		Error:  problem,
	})
}

// confirmTOTP enrolls the pending secret when the code is right. The first
// factor comes with recovery codes, shown at once.
func (s *SelfService) confirmTOTP(w http.ResponseWriter, r *http.Request) {
	a, ok := s.signin.Account(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	name := strings.TrimSpace(r.PostForm.Get("name"))
	_, err := s.dir.ConfirmTOTP(ctx, a.User.ID, name, r.PostForm.Get("code"), web.RemoteAddr(r))
	if err != nil {
		s.enrollmentRefused(w, r, a, name, err)
		return
	}
	left, err := s.dir.RecoveryCodesLeft(ctx, a.User.ID)
	if err != nil {
		s.fail(w, "recovery codes", err)
		return
	}
	if left > 0 {
		http.Redirect(w, r, "/?done=factor-added#factors", http.StatusSeeOther)
		return
	}
	codes, err := s.dir.NewRecoveryCodes(ctx, a.User.ID)
	if err != nil {
		s.fail(w, "recovery codes", err)
		return
	}
	s.showRecoveryCodes(w, "Authenticator app added", codes, false)
}

// enrollmentRefused shows the enrollment again after a refused code. The
// secret comes back from the form: the one stored is sealed, and only a code
// for it is ever accepted, so a changed value only misleads its sender.
func (s *SelfService) enrollmentRefused(w http.ResponseWriter, r *http.Request, a signin.Account, name string, err error) {
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
		s.fail(w, "confirm totp", err)
		return
	}
	secret, decodeErr := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(r.PostForm.Get("secret"))
	if decodeErr != nil || len(secret) != totp.SecretSize {
		s.refuse(w, status, "Add an authenticator app", problem+" Start again with Add an authenticator app.", appSectionID)
		return
	}
	s.showEnrollment(w, a, status, secret, name, problem)
}

// newRecoveryCodes replaces the user's recovery codes and shows the new
// ones once. It also issues the first ones, when the user's first factor
// comes without them (a passkey's page asks for them at once).
func (s *SelfService) newRecoveryCodes(w http.ResponseWriter, r *http.Request) {
	a, ok := s.signin.AccountChange(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	factors, err := s.dir.Factors(ctx, a.User.ID)
	if err != nil {
		s.fail(w, "factors", err)
		return
	}
	if len(factors) == 0 {
		s.refuse(w, http.StatusConflict, "No recovery codes yet", "Recovery codes stand in for a second sign-in method. Add one first.", recoverySectionID)
		return
	}
	left, err := s.dir.RecoveryCodesLeft(ctx, a.User.ID)
	if err != nil {
		s.fail(w, "recovery codes", err)
		return
	}
	codes, err := s.dir.NewRecoveryCodes(ctx, a.User.ID)
	if err != nil {
		s.fail(w, "recovery codes", err)
		return
	}
	if left == 0 {
		s.showRecoveryCodes(w, "Your recovery codes", codes, false)
		return
	}
	s.showRecoveryCodes(w, "Recovery codes replaced", codes, true)
}

// codesView is recovery-codes.html.
type codesView struct {
	Codes []string
	Hint  string
}

// showRecoveryCodes shows codes once; replaced says older unused ones
// existed and no longer work.
func (s *SelfService) showRecoveryCodes(w http.ResponseWriter, title string, codes []string, replaced bool) {
	hint := "Each code signs you in once when you cannot use your phone or key. Keep them somewhere safe, apart from your phone. They are shown only now."
	if replaced {
		hint += " Your older codes no longer work."
	}
	s.render(w, http.StatusOK, "recovery-codes.html", title, codesView{Codes: codes, Hint: hint})
}
