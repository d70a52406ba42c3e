package ldapserver

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
)

// A failing bind with a 60 KB DN costs the log, and the audit log, under
// 1 KB: client-supplied values are clipped before they are written.
func TestLongBindDNLogsLittle(t *testing.T) {
	f := newFixture(t, Access{})
	var logged bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.b.log = log
	_, addr := startServer(t, f, func(s *Server) { s.Logger = log })
	long := strings.Repeat("a", 60_000)
	for _, dn := range []string{"uid=" + long + ",ou=people,dc=example,dc=com", "cn=" + long} {
		audited := func() int {
			events, err := f.dir.AuditEvents(context.Background(), directory.AuditQuery{})
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := json.Marshal(events)
			return len(raw)
		}
		before, logBefore := audited(), logged.Len()
		if err := dial(t, addr).Bind(dn, "guess"); resultCode(err) != ldap.LDAPResultInvalidCredentials {
			t.Fatalf("bind with a 60 KB DN: %v", err)
		}
		if n := audited() - before; n >= 1024 || n == 0 {
			t.Errorf("audit log grew by %d bytes for one failed bind, want under 1 KB (and some)", n)
		}
		if n := logged.Len() - logBefore; n >= 1024 {
			t.Errorf("log grew by %d bytes for one failed bind, want under 1 KB", n)
		}
	}
}
