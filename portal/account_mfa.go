package portal

import (
	"context"
	"errors"
	"net/http"

	"github.com/atrium-dir/atrium/directory"
)

// accountMFA is the second-factor part of the self-service page.
type accountMFA struct {
	Factors  []accountFactor
	Required bool
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
