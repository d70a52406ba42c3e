package directory

import (
	"context"
	"fmt"
	"time"
)

// SMBFailures is a user's run of wrong SMB passwords as Samba counts it.
// A Samba file server checks SMB passwords itself, against the NT hash, and
// applies the lockout policy it reads from the domain entry; it reports the
// count when it locks the user and when it clears the count again (after a
// good password, or when the lock has run out).
type SMBFailures struct {
	Count  int       `json:"count,omitempty"`
	Last   time.Time `json:"last,omitzero"`    // the last wrong password
	Locked bool      `json:"locked,omitempty"` // SMB logins are locked out
}

// Audit results of a Samba report.
const (
	ResultLockedOut = "locked-out" // a Samba server locked the user's SMB logins
	ResultUnlocked  = "unlocked"   // and cleared the lock again
)

// ReportSMBFailures stores what a Samba server, signed in as the bind
// account reporter from remote, reports of uid's wrong SMB passwords, so
// that every server sharing the directory sees the same count and lock.
// New failures count against the account like wrong passwords anywhere
// (an SMB guesser also slows LDAP and web guessing), and every report that
// changes something goes to the audit log.
func (d *Directory) ReportSMBFailures(ctx context.Context, uid string, f SMBFailures, reporter, remote string) (User, error) {
	if f.Count < 0 {
		return User{}, fmt.Errorf("report SMB failures of %s: %w: a negative count", uid, ErrInvalid)
	}
	f.Last = f.Last.UTC()
	var before SMBFailures
	u, err := d.UpdateUser(ctx, uid, func(u *User) error {
		before, u.SMBFailures = u.SMBFailures, f
		return nil
	})
	if err != nil {
		return User{}, fmt.Errorf("report SMB failures: %w", err)
	}
	for range f.Count - before.Count {
		d.backoff.failAccount(u.ID)
	}
	result := ResultBadPassword
	switch {
	case f.Count == before.Count && f.Locked == before.Locked && f.Last.Equal(before.Last):
		return u, nil
	case f.Locked && !before.Locked:
		result = ResultLockedOut
	case !f.Locked && before.Locked:
		result = ResultUnlocked
	case f.Count == 0:
		result = ResultOK
	}
	d.Audit(AuditEvent{Kind: "login", Subject: u.UID, Remote: remote, Service: "smb", Result: result,
		Detail: fmt.Sprintf("%d wrong SMB passwords in a row, reported by %s", f.Count, reporter)})
	return u, nil
}
