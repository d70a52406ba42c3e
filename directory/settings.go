package directory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Settings kept in the store, which the admin console may change when the
// configuration file does not set them (the file wins: see the README's
// "Settings: file or store").

// MFARequirement is the part of the MFA policy an admin may change at run
// time: who must use a second factor.
type MFARequirement struct {
	All    bool     `json:"all"`
	Groups []string `json:"groups"`
}

// settingMFA names the stored MFA requirement among the store's secrets,
// which serve as its small key-value table.
const settingMFA = "setting:mfa"

// MFAPolicy returns the policy in force.
func (d *Directory) MFAPolicy() MFAPolicy {
	d.policyMu.RLock()
	defer d.policyMu.RUnlock()
	p := d.mfaPolicy
	p.Groups, p.LDAPAppPasswordOnly = slices.Clone(p.Groups), slices.Clone(p.LDAPAppPasswordOnly)
	return p
}

// SetMFARequirement stores who must use a second factor and applies it at
// once. Every group named must exist, so that a typo cannot silently
// require nothing of anyone.
func (d *Directory) SetMFARequirement(ctx context.Context, req MFARequirement) error {
	if req.All {
		req.Groups = nil
	}
	err := d.View(ctx, func(_ context.Context, r Reader) error {
		for _, cn := range req.Groups {
			if _, err := r.GroupByCN(cn); errors.Is(err, ErrNotFound) {
				return fmt.Errorf("there is no group %q: %w", cn, ErrInvalid)
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return err
	}
	if err := d.PutSecret(ctx, settingMFA, raw); err != nil {
		return fmt.Errorf("store the MFA requirement: %w", err)
	}
	d.applyMFARequirement(req)
	return nil
}

// LoadMFARequirement applies the stored MFA requirement, if an admin set
// one; callers skip it when the configuration file sets the policy.
func (d *Directory) LoadMFARequirement(ctx context.Context) error {
	d.mfaStored.Store(true)
	raw, err := d.Secret(ctx, settingMFA)
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	var req MFARequirement
	if err := json.Unmarshal(raw, &req); err != nil {
		return fmt.Errorf("stored MFA requirement: %w", err)
	}
	d.applyMFARequirement(req)
	return nil
}

func (d *Directory) applyMFARequirement(req MFARequirement) {
	d.policyMu.Lock()
	defer d.policyMu.Unlock()
	d.mfaPolicy.All, d.mfaPolicy.Groups = req.All, slices.Clone(req.Groups)
}
