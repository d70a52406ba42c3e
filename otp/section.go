package otp

import (
	"context"
	"html/template"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/signin"
)

// The sections' anchors on the self-service page.
const (
	appSectionID      = "authenticator"
	recoverySectionID = "recovery"
)

// AppSection is the self-service page's part for authenticator apps: the
// form that adds one. The page's list of sign-in methods shows and removes
// them, like every other factor.
type AppSection struct{}

func (AppSection) ID() string               { return appSectionID }
func (AppSection) Title() string            { return "Authenticator app" }
func (AppSection) NeedsSecureContext() bool { return false }

// Render returns the form for a.
func (AppSection) Render(_ context.Context, a signin.Account) (template.HTML, error) {
	return fragments.Fragment("app-section", struct{ CSRF, Action string }{a.CSRF, beginTOTPPath})
}

// RecoverySection is the self-service page's part for recovery codes: how
// many are left, a warning when few are, and the form that makes new ones.
// Add it after the sections of every factor, which the codes stand in for.
type RecoverySection struct{ dir *directory.Directory }

// NewRecoverySection returns the recovery codes' section over dir.
func NewRecoverySection(dir *directory.Directory) RecoverySection { return RecoverySection{dir: dir} }

func (RecoverySection) ID() string               { return recoverySectionID }
func (RecoverySection) Title() string            { return "Recovery codes" }
func (RecoverySection) NeedsSecureContext() bool { return false }

// Render returns a's count of unused codes and the form, or, before a's
// first factor, when codes come.
func (s RecoverySection) Render(ctx context.Context, a signin.Account) (template.HTML, error) {
	factors, err := s.dir.Factors(ctx, a.User.ID)
	if err != nil {
		return "", err
	}
	left, err := s.dir.RecoveryCodesLeft(ctx, a.User.ID)
	if err != nil {
		return "", err
	}
	return fragments.Fragment("recovery-section", struct {
		Factors      bool
		Left         int
		Low          bool
		CSRF, Action string
	}{len(factors) > 0, left, len(factors) > 0 && left <= signin.FewRecoveryCodes, a.CSRF, recoveryCodesPath})
}
