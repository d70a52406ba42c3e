package directory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// TestReportSMBFailures: a Samba server's report is stored, its new
// failures count against the account as wrong passwords do elsewhere, and
// the lock and its end are audited.
func TestReportSMBFailures(t *testing.T) {
	ctx := context.Background()
	c := newClock()
	cfg := directory.BackoffConfig{AccountFailures: 5, AccountLock: 30 * time.Second}
	d := newTestDir(t, c, directory.Options{Backoff: cfg, Samba: true, SecretKey: testKey})
	_, err := d.CreateUser(ctx, directory.User{UID: "frank", Mail: "frank@example.com"})
	must(t, err)
	must(t, d.SetPassword(ctx, "frank", "frank-password"))

	if _, err := d.ReportSMBFailures(ctx, "frank", directory.SMBFailures{Count: -1}, "nas", "192.0.2.9"); !errors.Is(err, directory.ErrInvalid) {
		t.Fatalf("a negative count: %v", err)
	}
	locked := directory.SMBFailures{Count: 5, Last: c.Now().Add(-time.Second), Locked: true}
	u, err := d.ReportSMBFailures(ctx, "frank", locked, "nas", "192.0.2.9")
	must(t, err)
	if u.SMBFailures.Count != 5 || !u.SMBFailures.Locked || !u.SMBFailures.Last.Equal(locked.Last) {
		t.Fatalf("stored %+v", u.SMBFailures)
	}
	// Five wrong SMB passwords are five failures of the account: its
	// password is refused for a while over LDAP and the web too.
	var te *directory.ThrottledError
	if _, err := d.Authenticate(ctx, login("frank", "frank-password", "198.51.100.7")); !errors.As(err, &te) {
		t.Fatalf("after five wrong SMB passwords: %v, want throttled", err)
	}
	c.Advance(cfg.AccountLock)
	if _, err := d.Authenticate(ctx, login("frank", "frank-password", "198.51.100.7")); err != nil {
		t.Fatalf("after the backoff: %v", err)
	}
	// The same report again (a second NAS) counts nothing twice.
	_, err = d.ReportSMBFailures(ctx, "frank", locked, "nas2", "192.0.2.10")
	must(t, err)
	if _, err := d.Authenticate(ctx, login("frank", "frank-password", "198.51.100.7")); err != nil {
		t.Fatalf("a repeated report counted again: %v", err)
	}
	_, err = d.ReportSMBFailures(ctx, "frank", directory.SMBFailures{}, "nas", "192.0.2.9")
	must(t, err)

	events, err := d.AuditEvents(ctx, directory.AuditQuery{Subject: "frank", Kind: "login"})
	must(t, err)
	var got []string
	for _, e := range events {
		if e.Service == "smb" {
			got = append(got, e.Result+" "+e.Remote+" "+e.Detail)
		}
	}
	want := []string{
		"locked-out 192.0.2.9 5 wrong SMB passwords in a row, reported by nas",
		"unlocked 192.0.2.9 0 wrong SMB passwords in a row, reported by nas",
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("audit:\n%q\nwant\n%q", got, want)
	}
}
