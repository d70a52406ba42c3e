package ldapserver

import (
	"context"
	"encoding/pem"
	"net"
	"strconv"
	"testing"

	"github.com/atrium-dir/atrium/clients"
	"github.com/atrium-dir/atrium/directory"
)

// guideBindPassword is the password the tests give a guide's bind account.
const guideBindPassword = "guide-bind-password"

// guideServer starts f's server for a real client program set up from its
// guide (package clients): it creates the bind account the guide asks for
// and returns the guide rendered for this server, and the server's
// certificate (PEM) for the client to trust.
func guideServer(t *testing.T, f *fixture, client string) (clients.Rendered, []byte) {
	t.Helper()
	cfg := testTLSConfig(t)
	_, addr := startServer(t, f, func(s *Server) { s.TLSConfig = cfg })
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	set := clients.DefaultSettings()
	set.Host = "127.0.0.1"
	if set.LDAPPort, err = strconv.Atoi(port); err != nil {
		t.Fatal(err)
	}
	guide, err := clients.Guide(client, set)
	if err != nil {
		t.Fatal(err)
	}
	rights, err := directory.ParseRights(guide.Needs.Rights)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.dir.CreateBindAccount(context.Background(), guide.Needs.BindAccount, rights, guideBindPassword); err != nil {
		t.Fatal(err)
	}
	return guide, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cfg.Certificates[0].Certificate[0]})
}

// configFile is the text of the guide's config file screen, with the
// values of the fields labelled in set replaced (a secret, a path the test
// chooses). Every label in set must be in the guide.
func configFile(t *testing.T, guide clients.Rendered, screen string, set map[string]string) string {
	t.Helper()
	for _, s := range guide.Screens {
		if s.Name != screen {
			continue
		}
		fields := make([]clients.Field, len(s.Fields))
		used := 0
		for i, f := range s.Fields {
			if v, ok := set[f.Label]; ok {
				f.Value = v
				used++
			}
			fields[i] = f
		}
		if used != len(set) {
			t.Fatalf("the %s guide's %s lacks some of %v", guide.Name, screen, set)
		}
		s.Fields = fields
		return s.Text()
	}
	t.Fatalf("the %s guide has no screen %s", guide.Name, screen)
	return ""
}
