package console_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/backup"
	"github.com/atrium-dir/atrium/console"
	"github.com/atrium-dir/atrium/internal/browser"

	"github.com/chromedp/chromedp"
)

// TestOverviewServer: the overview lists the LDAP listeners with their
// certificate's expiry, the store's size and the last backup, and warns
// of a certificate that expires within three weeks and of a newest backup
// older than a week; a fresh backup ends that warning. Screenshots at
// desktop and phone widths.
func TestOverviewServer(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store.db")
	if err := os.WriteFile(store, make([]byte, 12345), 0o600); err != nil {
		t.Fatal(err)
	}
	backups := filepath.Join(dir, "backups")
	st := newLDAPSite(t, func(s *console.Server) { s.StorePath, s.BackupDir, s.HTTPAddr = store, backups, "127.0.0.1:8080" })
	takeBackup := func(at time.Time) {
		t.Helper()
		name := filepath.Join(backups, "atrium-"+at.UTC().Format("20060102T150405Z")+".db")
		if err := os.MkdirAll(backups, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := backup.WriteFile(context.Background(), name, st.d); err != nil {
			t.Fatal(err)
		}
	}
	takeBackup(st.clock.Now().Add(-8 * 24 * time.Hour))
	admin := st.client()
	admin.signIn("/admin/", "admin")
	_, page := admin.get("/admin/")
	for _, want := range []string{st.server.LDAPAddr, st.server.LDAPSAddr, "127.0.0.1:8080", "in 9 days", "12345", "No backup in the last week", "The certificate of the LDAP listeners expires"} {
		if !strings.Contains(page, want) {
			t.Errorf("the overview does not say %q", want)
		}
	}
	takeBackup(st.clock.Now())
	if _, page = admin.get("/admin/"); strings.Contains(page, "No backup in the last week") || !strings.Contains(page, st.clock.Now().UTC().Format("2006-01-02 15:04")) {
		t.Errorf("after a fresh backup the overview says:\n%s", page)
	}

	st.clock.Advance(30 * time.Second) // a new TOTP code for the browser's sign-in
	b := tab{t, browser.New(t)}
	st.signInAdmin(b)
	b.do("the overview", chromedp.WaitVisible(chromedp.ID("listeners")))
	b.shot("overview")
}
