package signin

import (
	"context"
	"encoding/json"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// A SecondFactor is one kind of second factor the sign-in offers after the
// password, to users who have enrolled a factor of its kind. The engine
// draws the page around it (the heading, the form element with the flow's
// hidden fields and "kind", errors, and links to the user's other kinds);
// the factor fills the inside of the form, whose id is "second-factor"
// (a script may fill its inputs and submit it). The sign-in pages allow
// scripts and fetches from Atrium's own origin. Codes (package otp),
// passkeys and push register theirs with AddSecondFactor.
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

// FactorRecovery is the kind of the recovery-code stand-in (package otp),
// offered while the user has a factor and unused codes.
const FactorRecovery = "recovery"

// AddSecondFactor offers sf at sign-in to users with a factor of its kind.
// A later registration of the same kind replaces the earlier one.
func (e *Engine) AddSecondFactor(sf SecondFactor) {
	e.mfa.mu.Lock()
	defer e.mfa.mu.Unlock()
	e.mfa.factors = slices.DeleteFunc(e.mfa.factors, func(old SecondFactor) bool { return old.Kind() == sf.Kind() })
	e.mfa.factors = append(e.mfa.factors, sf)
}

// An Enrollment is a kind of second factor that a user who must use MFA but
// has none may set up during sign-in; they choose among the registered
// ones. It has SecondFactor's shape, and the engine draws the page around
// it the same way (the form's id is "enroll-factor"), but Submit enrolls
// the factor from the posted form and proves it, with f.Proved, by the
// method the new factor stands for. The engine then issues recovery codes
// and shows them once. The authenticator app (package otp) and passkeys
// register theirs with AddEnrollment.
type Enrollment interface {
	Kind() string
	Label() string
	Form(r *http.Request, f *Flow) (template.HTML, error)
	Submit(ctx context.Context, r *http.Request, f *Flow) error
}

// AddEnrollment offers en to users who must enroll a second factor at
// sign-in, after those added before. A later registration of the same kind
// replaces the earlier one.
func (e *Engine) AddEnrollment(en Enrollment) {
	e.mfa.mu.Lock()
	defer e.mfa.mu.Unlock()
	e.mfa.enrollments = slices.DeleteFunc(e.mfa.enrollments, func(old Enrollment) bool { return old.Kind() == en.Kind() })
	e.mfa.enrollments = append(e.mfa.enrollments, en)
}

// StepUp asks the user of session s for a second factor before resuming
// parked (an app that requires MFA, reached with a password-only session).
// A user with factors picks one; the identity of the session stands, and a
// new session replaces it when the flow finishes. A user with none must
// first sign in again with their password, so that a stolen session cookie
// alone cannot enroll a factor.
func (e *Engine) StepUp(w http.ResponseWriter, r *http.Request, s Session, parked *Parked) {
	if parked != nil {
		parked.RequireMFA = true
	}
	factors, err := e.dir.Factors(r.Context(), s.UserID)
	if err != nil {
		e.fail(w, "step up", err)
		return
	}
	if len(factors) == 0 {
		e.Begin(w, r, parked, true)
		return
	}
	e.startFlow(w, r, Flow{UserID: s.UserID, Methods: slices.Clone(s.Methods), Parked: parked})
}

// Continue starts a sign-in for a user who has just proved methods outside
// a flow (a password set through an invite link): the steps still pending
// (a second factor, or enrolling one where policy or parked requires it)
// follow, then a session begins and parked resumes (nil: the self-service
// page).
func (e *Engine) Continue(w http.ResponseWriter, r *http.Request, userID string, methods []string, parked *Parked) {
	e.startFlow(w, r, Flow{UserID: userID, Methods: slices.Clone(methods), Parked: parked})
}

// mfaFactors is the registry of second factors offered at sign-in, and of
// the kinds a user may enroll there.
type mfaFactors struct {
	mu          sync.RWMutex
	factors     []SecondFactor
	enrollments []Enrollment
}

// mfaSteps are the sign-in steps after the password: prove a factor, or
// enroll one where it is required, then see the recovery codes once, or be
// told that few are left.
func (e *Engine) mfaSteps() []Step {
	return []Step{secondFactorStep{e: e}, enrollStep{e: e}, recoveryCodesStep{e: e}, fewCodesStep{e: e}}
}

// mfaFlowState is what the MFA steps keep for one flow beside it: the
// codes are sealed, and bound to the flow.
type mfaFlowState struct {
	// Codes are the new recovery codes, until the user has seen them.
	Codes []byte `json:"codes,omitempty"`
	// CodesLeft is how many recovery codes remain after the user signed in
	// with one and few are left, until they have been told.
	CodesLeft *int `json:"codesLeft,omitempty"`
}

const kindMFAFlow = "mfa-flow"

func mfaPurpose(flowID string) string { return "mfa-flow:" + flowID }

func (e *Engine) flowMFAState(ctx context.Context, f *Flow) (mfaFlowState, error) {
	var st mfaFlowState
	err := e.dir.State(ctx, kindMFAFlow, f.ID, &st)
	if errors.Is(err, directory.ErrNotFound) {
		return mfaFlowState{}, nil
	}
	return st, err
}

func (e *Engine) putFlowMFAState(ctx context.Context, f *Flow, st mfaFlowState) error {
	if st.Codes == nil && st.CodesLeft == nil {
		return e.dir.DeleteState(ctx, kindMFAFlow, f.ID)
	}
	return e.dir.PutState(ctx, kindMFAFlow, f.ID, st, f.Created.Add(e.cfg.FlowTTL))
}

// mfaRequired reports whether the flow's user must have a second factor:
// by policy, or because the parked work (an app) requires one.
func (e *Engine) mfaRequired(ctx context.Context, f *Flow) (bool, error) {
	if f.Parked != nil && f.Parked.RequireMFA {
		return true, nil
	}
	return e.dir.MFARequired(ctx, f.UserID)
}

// offered lists the second factors the user can use, in the order of
// directory.FactorKinds, recovery codes last.
func (e *Engine) offered(ctx context.Context, userID string) ([]SecondFactor, error) {
	factors, err := e.dir.Factors(ctx, userID)
	if err != nil {
		return nil, err
	}
	left, err := e.dir.RecoveryCodesLeft(ctx, userID)
	if err != nil {
		return nil, err
	}
	e.mfa.mu.RLock()
	registered := slices.Clone(e.mfa.factors)
	e.mfa.mu.RUnlock()
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
type secondFactorStep struct{ e *Engine }

func (secondFactorStep) Name() string { return "mfa" }

func (s secondFactorStep) Pending(ctx context.Context, f *Flow) (bool, error) {
	if f.UserID == "" || UsedMFA(f.Methods) {
		return false, nil
	}
	factors, err := s.e.dir.Factors(ctx, f.UserID)
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
	offered, err := s.e.offered(r.Context(), f.UserID)
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
	offered, err := s.e.offered(ctx, f.UserID)
	if err != nil {
		return err
	}
	kind := r.PostForm.Get("kind")
	i := slices.IndexFunc(offered, func(sf SecondFactor) bool { return sf.Kind() == kind })
	if i < 0 {
		return &StepError{Status: http.StatusBadRequest, Message: "This way of signing in is not available. Choose another."}
	}
	if err := offered[i].Submit(ctx, r, f); err != nil {
		return err
	}
	if kind != FactorRecovery {
		return nil
	}
	return s.e.noteFewCodes(ctx, f)
}

// noteFewCodes remembers, for fewCodesStep, that the user who just signed
// in with a recovery code has few left. The self-service page, where a
// sign-in to Atrium itself lands, warns on its own.
func (e *Engine) noteFewCodes(ctx context.Context, f *Flow) error {
	left, err := e.dir.RecoveryCodesLeft(ctx, f.UserID)
	if err != nil || left > FewRecoveryCodes || f.Parked == nil {
		return err
	}
	return e.putFlowMFAState(ctx, f, mfaFlowState{CodesLeft: &left})
}

// enrollStep takes a user who must use MFA but has no factor through
// enrolling one, of the kind they choose among the registered enrollments,
// and issues their recovery codes.
type enrollStep struct{ e *Engine }

func (enrollStep) Name() string { return "mfa-enroll" }

func (s enrollStep) Pending(ctx context.Context, f *Flow) (bool, error) {
	if f.UserID == "" || UsedMFA(f.Methods) {
		return false, nil
	}
	factors, err := s.e.dir.Factors(ctx, f.UserID)
	if err != nil || len(factors) > 0 {
		return false, err
	}
	return s.e.mfaRequired(ctx, f)
}

func (s enrollStep) enrollments() []Enrollment {
	s.e.mfa.mu.RLock()
	defer s.e.mfa.mu.RUnlock()
	return slices.Clone(s.e.mfa.enrollments)
}

// enrollPage is the data of mfa-enroll.html, drawn like mfaPage.
type enrollPage struct {
	Kind, Label string
	Form        template.HTML
	Others      []Enrollment
}

func (s enrollStep) Form(r *http.Request, f *Flow) (string, any, error) {
	all := s.enrollments()
	if len(all) == 0 {
		return "", nil, errors.New("MFA is required, and no kind of second factor can be enrolled at sign-in")
	}
	i := max(slices.IndexFunc(all, func(e Enrollment) bool { return e.Kind() == r.FormValue("kind") }), 0)
	form, err := all[i].Form(r, f)
	if err != nil {
		return "", nil, err
	}
	others := slices.Delete(slices.Clone(all), i, i+1)
	return "mfa-enroll.html", enrollPage{Kind: all[i].Kind(), Label: all[i].Label(), Form: form, Others: others}, nil
}

func (s enrollStep) Submit(ctx context.Context, r *http.Request, f *Flow) error {
	all := s.enrollments()
	i := slices.IndexFunc(all, func(e Enrollment) bool { return e.Kind() == r.PostForm.Get("kind") })
	if i < 0 {
		return &StepError{Status: http.StatusBadRequest, Message: "This way of signing in is not available. Choose another."}
	}
	if err := all[i].Submit(ctx, r, f); err != nil {
		return err
	}
	codes, err := s.e.dir.NewRecoveryCodes(ctx, f.UserID)
	if err != nil {
		return err
	}
	raw, _ := json.Marshal(codes)
	sealed, err := s.e.dir.Seal(raw, mfaPurpose(f.ID))
	if err != nil {
		return err
	}
	return s.e.putFlowMFAState(ctx, f, mfaFlowState{Codes: sealed})
}

// recoveryCodesStep shows the recovery codes issued at enrollment, once.
type recoveryCodesStep struct{ e *Engine }

func (recoveryCodesStep) Name() string { return "mfa-codes" }

func (s recoveryCodesStep) Pending(ctx context.Context, f *Flow) (bool, error) {
	if f.UserID == "" {
		return false, nil
	}
	st, err := s.e.flowMFAState(ctx, f)
	return st.Codes != nil, err
}

func (s recoveryCodesStep) Form(r *http.Request, f *Flow) (string, any, error) {
	st, err := s.e.flowMFAState(r.Context(), f)
	if err != nil {
		return "", nil, err
	}
	raw, err := s.e.dir.Unseal(st.Codes, mfaPurpose(f.ID))
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
	return s.e.putFlowMFAState(ctx, f, mfaFlowState{})
}

// fewCodesStep tells a user who signed in with a recovery code that few
// are left, before the sign-in goes on to an app. They may go on, or go to
// the self-service page to make new ones instead.
type fewCodesStep struct{ e *Engine }

func (fewCodesStep) Name() string { return "mfa-few-codes" }

func (s fewCodesStep) Pending(ctx context.Context, f *Flow) (bool, error) {
	if f.UserID == "" {
		return false, nil
	}
	st, err := s.e.flowMFAState(ctx, f)
	return st.CodesLeft != nil, err
}

func (s fewCodesStep) Form(r *http.Request, f *Flow) (string, any, error) {
	st, err := s.e.flowMFAState(r.Context(), f)
	if err != nil {
		return "", nil, err
	}
	if st.CodesLeft == nil {
		return "", nil, errors.New("the flow's count of recovery codes is gone")
	}
	return "mfa-few-codes.html", *st.CodesLeft, nil
}

// Submit goes on to the app, or with "then=account" drops it for the
// self-service page: the app's request is given up, and the new session
// reaches the app later without another sign-in.
func (s fewCodesStep) Submit(ctx context.Context, r *http.Request, f *Flow) error {
	if r.PostForm.Get("then") == "account" {
		_, err := directory.UpdateState(ctx, s.e.dir, kindFlow, f.ID, func(stored *Flow) (time.Time, error) {
			stored.Parked = nil
			return stored.Created.Add(s.e.cfg.FlowTTL), nil
		})
		if err != nil {
			return err
		}
	}
	return s.e.putFlowMFAState(ctx, f, mfaFlowState{})
}
