package portal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/totp"
)

// A SecondFactor is one kind of second factor the sign-in offers after the
// password, to users who have enrolled a factor of its kind. The portal
// draws the page around it (the heading, the form element with the flow's
// hidden fields and "kind", errors, and links to the user's other kinds);
// the factor fills the inside of the form, whose id is "second-factor"
// (a script may fill its inputs and submit it). The sign-in pages allow
// scripts and fetches from the portal's own origin. Passkeys and push
// register theirs with AddSecondFactor.
type SecondFactor interface {
	// Kind is the directory factor kind it proves (directory.FactorTOTP,
	// directory.FactorPasskey, directory.FactorPush), or "recovery".
	Kind() string
	// Label names it in the choice of kinds ("Authenticator app").
	Label() string
	// Form returns the inside of the form for the flow's user (f.UserID):
	// inputs and a submit button, built with html/template. r is the page
	// request (its client address and user agent describe the sign-in).
	Form(r *http.Request, f *Flow) (template.HTML, error)
	// Submit checks the posted form (r.PostForm). On success it calls
	// f.Proved with the RFC 8176 method it proved ("otp", "hwk", "swk",
	// ...) and returns nil; a *StepError is shown on the form again.
	Submit(ctx context.Context, r *http.Request, f *Flow) error
}

// FactorRecovery is the kind of the recovery-code stand-in, offered while
// the user has unused codes.
const FactorRecovery = "recovery"

// AddSecondFactor offers sf at sign-in to users with a factor of its kind.
// A later registration of the same kind replaces the earlier one.
func (p *Portal) AddSecondFactor(sf SecondFactor) {
	p.mfa.mu.Lock()
	defer p.mfa.mu.Unlock()
	p.mfa.factors = slices.DeleteFunc(p.mfa.factors, func(old SecondFactor) bool { return old.Kind() == sf.Kind() })
	p.mfa.factors = append(p.mfa.factors, sf)
}

// StepUp asks the user of session s for a second factor before resuming
// parked (an app that requires MFA, reached with a password-only session).
// A user with factors picks one; the identity of the session stands, and a
// new session replaces it when the flow finishes. A user with none must
// first sign in again with their password, so that a stolen session cookie
// alone cannot enroll a factor.
func (p *Portal) StepUp(w http.ResponseWriter, r *http.Request, s Session, parked *Parked) {
	if parked != nil {
		parked.RequireMFA = true
	}
	factors, err := p.dir.Factors(r.Context(), s.UserID)
	if err != nil {
		p.fail(w, "step up", err)
		return
	}
	if len(factors) == 0 {
		p.Begin(w, r, parked, true)
		return
	}
	f := Flow{
		Browser: hashToken(p.browserToken(w, r)),
		CSRF:    randomToken(),
		UserID:  s.UserID,
		Methods: slices.Clone(s.Methods),
		Parked:  parked,
		Created: p.now().UTC(),
	}
	id := randomToken()
	if err := p.dir.PutState(r.Context(), kindFlow, id, f, p.now().Add(p.cfg.FlowTTL)); err != nil {
		p.fail(w, "store flow", err)
		return
	}
	http.Redirect(w, r, "/login?flow="+id, http.StatusSeeOther)
}

// SecondFactorUsed reports whether methods (a session's or a flow's)
// include a proof beyond the password.
func SecondFactorUsed(methods []string) bool {
	return slices.ContainsFunc(methods, func(m string) bool { return m != "pwd" })
}

// mfaFactors is the registry of second factors offered at sign-in.
type mfaFactors struct {
	mu      sync.RWMutex
	factors []SecondFactor
}

// mfaSteps are the sign-in steps after the password: prove a factor, or
// enroll one where it is required, then see the recovery codes once.
func (p *Portal) mfaSteps() []Step {
	p.AddSecondFactor(totpFactor{dir: p.dir})
	p.AddSecondFactor(recoveryFactor{dir: p.dir})
	return []Step{secondFactorStep{p: p}, enrollStep{p: p}, recoveryCodesStep{p: p}}
}

// mfaFlowState is what the MFA steps keep for one flow beside it: secrets
// are sealed, and bound to the flow.
type mfaFlowState struct {
	// Secret is the TOTP secret being enrolled, so a reload shows the same.
	Secret []byte `json:"secret,omitempty"`
	// Codes are the new recovery codes, until the user has seen them.
	Codes []byte `json:"codes,omitempty"`
}

const kindMFAFlow = "mfa-flow"

func mfaPurpose(flowID string) string { return "mfa-flow:" + flowID }

func (p *Portal) flowMFAState(ctx context.Context, f *Flow) (mfaFlowState, error) {
	var st mfaFlowState
	err := p.dir.State(ctx, kindMFAFlow, f.ID, &st)
	if errors.Is(err, directory.ErrNotFound) {
		return mfaFlowState{}, nil
	}
	return st, err
}

func (p *Portal) putFlowMFAState(ctx context.Context, f *Flow, st mfaFlowState) error {
	if st.Secret == nil && st.Codes == nil {
		return p.dir.DeleteState(ctx, kindMFAFlow, f.ID)
	}
	return p.dir.PutState(ctx, kindMFAFlow, f.ID, st, f.Created.Add(p.cfg.FlowTTL))
}

// mfaRequired reports whether the flow's user must have a second factor:
// by policy, or because the parked work (an app) requires one.
func (p *Portal) mfaRequired(ctx context.Context, f *Flow) (bool, error) {
	if f.Parked != nil && f.Parked.RequireMFA {
		return true, nil
	}
	return p.dir.MFARequired(ctx, f.UserID)
}

// offered lists the second factors the user can use, in the order of
// directory.FactorKinds, recovery codes last.
func (p *Portal) offered(ctx context.Context, userID string) ([]SecondFactor, error) {
	factors, err := p.dir.Factors(ctx, userID)
	if err != nil {
		return nil, err
	}
	left, err := p.dir.RecoveryCodesLeft(ctx, userID)
	if err != nil {
		return nil, err
	}
	p.mfa.mu.RLock()
	registered := slices.Clone(p.mfa.factors)
	p.mfa.mu.RUnlock()
	var out []SecondFactor
	for _, kind := range append(slices.Clone(directory.FactorKinds), FactorRecovery) {
		has := slices.ContainsFunc(factors, func(f directory.Factor) bool { return f.Kind == kind })
		if kind == FactorRecovery {
			has = left > 0 && len(factors) > 0
		}
		i := slices.IndexFunc(registered, func(sf SecondFactor) bool { return sf.Kind() == kind })
		if has && i >= 0 {
			out = append(out, registered[i])
		}
	}
	return out, nil
}

// secondFactorStep asks a user with any factor enrolled to prove one, of
// the kind they choose.
type secondFactorStep struct{ p *Portal }

func (secondFactorStep) Name() string { return "mfa" }

func (s secondFactorStep) Pending(ctx context.Context, f *Flow) (bool, error) {
	if f.UserID == "" || SecondFactorUsed(f.Methods) {
		return false, nil
	}
	factors, err := s.p.dir.Factors(ctx, f.UserID)
	return len(factors) > 0, err
}

type mfaPage struct {
	Kind, Label string
	Form        template.HTML
	Others      []SecondFactor
	// NoneUsable: the user's factors are of kinds this server does not offer.
	NoneUsable bool
}

func (s secondFactorStep) Form(r *http.Request, f *Flow) (string, any, error) {
	offered, err := s.p.offered(r.Context(), f.UserID)
	if err != nil || len(offered) == 0 {
		return "mfa.html", mfaPage{NoneUsable: true}, err
	}
	sf := pick(offered, r.FormValue("kind"))
	form, err := sf.Form(r, f)
	if err != nil {
		return "", nil, err
	}
	others := slices.DeleteFunc(slices.Clone(offered), func(o SecondFactor) bool { return o.Kind() == sf.Kind() })
	return "mfa.html", mfaPage{Kind: sf.Kind(), Label: sf.Label(), Form: form, Others: others}, nil
}

// pick returns the offered factor of kind, or the first one.
func pick(offered []SecondFactor, kind string) SecondFactor {
	if i := slices.IndexFunc(offered, func(sf SecondFactor) bool { return sf.Kind() == kind }); i >= 0 {
		return offered[i]
	}
	return offered[0]
}

func (s secondFactorStep) Submit(ctx context.Context, r *http.Request, f *Flow) error {
	offered, err := s.p.offered(ctx, f.UserID)
	if err != nil {
		return err
	}
	kind := r.PostForm.Get("kind")
	i := slices.IndexFunc(offered, func(sf SecondFactor) bool { return sf.Kind() == kind })
	if i < 0 {
		return &StepError{Status: http.StatusBadRequest, Message: "This way of signing in is not available. Choose another."}
	}
	return offered[i].Submit(ctx, r, f)
}

// codeError maps a refused code to what the user reads.
func codeError(err error) error {
	var throttled *directory.ThrottledError
	switch {
	case errors.As(err, &throttled):
		return &StepError{Status: http.StatusTooManyRequests, Message: "Too many attempts. Wait " + throttled.RetryAfter.Round(time.Second).String() + " and try again."}
	case errors.Is(err, directory.ErrBadCode):
		return &StepError{Status: http.StatusUnauthorized, Message: "That code is not right. Codes change every 30 seconds and work once: try the current one."}
	}
	return err
}

// totpFactor checks a code from the user's authenticator app.
type totpFactor struct{ dir *directory.Directory }

func (totpFactor) Kind() string  { return directory.FactorTOTP }
func (totpFactor) Label() string { return "Authenticator app" }

var mfaFragments = template.Must(template.New("").Parse(`
{{define "totp"}}<p>Enter the 6-digit code from your authenticator app.</p>
<label for="code">Code</label>
<input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" maxlength="8" required autofocus>
<button type="submit">Verify</button>{{end}}
{{define "recovery"}}<p>Enter one of the recovery codes you saved when you set up your second factor. Each code works once.</p>
<label for="code">Recovery code</label>
<input id="code" name="code" autocomplete="off" autocapitalize="none" spellcheck="false" required autofocus>
<button type="submit">Verify</button>{{end}}
`))

func fragment(name string, data any) (template.HTML, error) {
	var b bytes.Buffer
	if err := mfaFragments.ExecuteTemplate(&b, name, data); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil
}

func (totpFactor) Form(*http.Request, *Flow) (template.HTML, error) { return fragment("totp", nil) }

func (t totpFactor) Submit(ctx context.Context, r *http.Request, f *Flow) error {
	if err := t.dir.VerifyTOTP(ctx, f.UserID, r.PostForm.Get("code"), RemoteAddr(r), "web"); err != nil {
		return codeError(err)
	}
	f.Proved("otp")
	return nil
}

// recoveryFactor accepts a recovery code in place of a lost factor.
type recoveryFactor struct{ dir *directory.Directory }

func (recoveryFactor) Kind() string  { return FactorRecovery }
func (recoveryFactor) Label() string { return "Recovery code" }

func (recoveryFactor) Form(*http.Request, *Flow) (template.HTML, error) {
	return fragment("recovery", nil)
}

func (rf recoveryFactor) Submit(ctx context.Context, r *http.Request, f *Flow) error {
	if _, err := rf.dir.UseRecoveryCode(ctx, f.UserID, r.PostForm.Get("code"), RemoteAddr(r), "web"); err != nil {
		if errors.Is(err, directory.ErrBadCode) {
			return &StepError{Status: http.StatusUnauthorized, Message: "That recovery code is not right, or was used before."}
		}
		return codeError(err)
	}
	// A recovery code is a one-time password the user kept.
	f.Proved("otp")
	return nil
}

// enrollStep takes a user who must use MFA but has no factor through TOTP
// enrollment: QR code and text secret, confirmed by a first code.
type enrollStep struct{ p *Portal }

func (enrollStep) Name() string { return "mfa-enroll" }

func (s enrollStep) Pending(ctx context.Context, f *Flow) (bool, error) {
	if f.UserID == "" || SecondFactorUsed(f.Methods) {
		return false, nil
	}
	factors, err := s.p.dir.Factors(ctx, f.UserID)
	if err != nil || len(factors) > 0 {
		return false, err
	}
	return s.p.mfaRequired(ctx, f)
}

type enrollPage struct {
	QR     template.URL // data: URL of a PNG
	Secret string       // base32, in groups of four
}

func (s enrollStep) Form(r *http.Request, f *Flow) (string, any, error) {
	ctx := r.Context()
	st, err := s.p.flowMFAState(ctx, f)
	if err != nil {
		return "", nil, err
	}
	var secret []byte
	if st.Secret != nil {
		if secret, err = s.p.dir.Unseal(st.Secret, mfaPurpose(f.ID)); err != nil {
			return "", nil, err
		}
	} else {
		if secret, err = s.p.dir.BeginTOTP(ctx, f.UserID); err != nil {
			return "", nil, err
		}
		if st.Secret, err = s.p.dir.Seal(secret, mfaPurpose(f.ID)); err != nil {
			return "", nil, err
		}
		if err := s.p.putFlowMFAState(ctx, f, st); err != nil {
			return "", nil, err
		}
	}
	u, err := s.p.dir.UserByID(ctx, f.UserID)
	if err != nil {
		return "", nil, err
	}
	png, err := totp.QRCode(totp.URI("Atrium", u.UID, secret), 240)
	if err != nil {
		return "", nil, err
	}
	return "mfa-enroll.html", enrollPage{
		QR:     template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)),
		Secret: accountGroups(totp.EncodeSecret(secret), 4),
	}, nil
}

func (s enrollStep) Submit(ctx context.Context, r *http.Request, f *Flow) error {
	if _, err := s.p.dir.ConfirmTOTP(ctx, f.UserID, "Authenticator app", r.PostForm.Get("code"), RemoteAddr(r)); err != nil {
		return codeError(err)
	}
	codes, err := s.p.dir.NewRecoveryCodes(ctx, f.UserID)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(codes)
	sealed, err := s.p.dir.Seal(raw, mfaPurpose(f.ID))
	if err != nil {
		return err
	}
	if err := s.p.putFlowMFAState(ctx, f, mfaFlowState{Codes: sealed}); err != nil {
		return err
	}
	f.Proved("otp")
	return nil
}

// recoveryCodesStep shows the recovery codes issued at enrollment, once.
type recoveryCodesStep struct{ p *Portal }

func (recoveryCodesStep) Name() string { return "mfa-codes" }

func (s recoveryCodesStep) Pending(ctx context.Context, f *Flow) (bool, error) {
	if f.UserID == "" {
		return false, nil
	}
	st, err := s.p.flowMFAState(ctx, f)
	return st.Codes != nil, err
}

func (s recoveryCodesStep) Form(r *http.Request, f *Flow) (string, any, error) {
	st, err := s.p.flowMFAState(r.Context(), f)
	if err != nil {
		return "", nil, err
	}
	raw, err := s.p.dir.Unseal(st.Codes, mfaPurpose(f.ID))
	if err != nil {
		return "", nil, err
	}
	var codes []string
	if err := json.Unmarshal(raw, &codes); err != nil {
		return "", nil, err
	}
	return "mfa-codes.html", codes, nil
}

func (s recoveryCodesStep) Submit(ctx context.Context, _ *http.Request, f *Flow) error {
	return s.p.putFlowMFAState(ctx, f, mfaFlowState{})
}
