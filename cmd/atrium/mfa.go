package main

import (
	"fmt"
	"strconv"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// mfaOut is what `user mfa list` shows: factors, never their secrets.
type mfaOut struct {
	UID               string             `json:"uid"`
	Required          bool               `json:"required"`
	RecoveryCodesLeft int                `json:"recoveryCodesLeft"`
	Factors           []directory.Factor `json:"factors"`
}

func userMFAList(e *env) error {
	u, err := e.dir.User(e.ctx, e.arg(0))
	if err != nil {
		return err
	}
	out := mfaOut{UID: u.UID}
	if out.Factors, err = e.dir.Factors(e.ctx, u.ID); err != nil {
		return err
	}
	if out.RecoveryCodesLeft, err = e.dir.RecoveryCodesLeft(e.ctx, u.ID); err != nil {
		return err
	}
	if out.Required, err = e.dir.MFARequired(e.ctx, u.ID); err != nil {
		return err
	}
	if e.inv.json {
		return printJSON(e.out, out)
	}
	rows := [][]string{}
	for _, f := range out.Factors {
		rows = append(rows, []string{f.Kind, f.Name, f.Created.Format(time.RFC3339), mfaWhen(f.LastUsed), f.ID})
	}
	if err := printTable(e.out, []string{"KIND", "NAME", "CREATED", "LAST USED", "ID"}, rows); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "\nRecovery codes left: %s. MFA required by policy: %s.\n", strconv.Itoa(out.RecoveryCodesLeft), mfaYesNo(out.Required))
	return nil
}

func mfaWhen(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}

func mfaYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// userMFAReset removes every factor and recovery code of a user who lost
// them; the directory audits it.
func userMFAReset(e *env) error {
	u, err := e.dir.User(e.ctx, e.arg(0))
	if err != nil {
		return err
	}
	n, err := e.dir.Factors(e.ctx, u.ID)
	if err != nil {
		return err
	}
	if err := e.dir.ResetMFA(e.ctx, u.ID); err != nil {
		return err
	}
	fmt.Fprintf(e.out, "Removed %d second factors and the recovery codes of %s\n", len(n), u.UID)
	return nil
}
