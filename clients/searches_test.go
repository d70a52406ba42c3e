package clients_test

import (
	"crypto/tls"
	"testing"

	"github.com/atrium-dir/atrium/clients"
)

// TestGuidesAgainstServer sets up a live server as each LDAP guide says and
// runs the guide's requests with clients.Run, over the guide's own address
// and TLS choice, bound as it says; each must find what the client needs.
// A paging client's searches also run in pages of two, so that paging
// really turns pages.
func TestGuidesAgainstServer(t *testing.T) {
	for _, name := range clients.Names() {
		t.Run(name, func(t *testing.T) {
			srv, guide := startServer(t, name)
			if guide.Kind != "ldap" {
				t.Skipf("%s is not an LDAP client; TestCloudflareAgainstAtrium checks it", name)
			}
			secrets := clients.Secrets{BindPassword: srv.bindSecret, UserPassword: srv.settings.User + "-password",
				TLS: &tls.Config{RootCAs: srv.roots, MinVersion: tls.VersionTLS12}}
			small := guide
			small.Searches = nil
			for _, q := range guide.Searches {
				if q.PageSize > 0 {
					q.PageSize = 2
					small.Searches = append(small.Searches, q)
				}
			}
			for _, g := range []clients.Rendered{guide, small} {
				for _, r := range clients.Run(g, secrets) {
					if r.Err != nil {
						t.Errorf("%q (page size %d): %v", r.Search.Name, r.Search.PageSize, r.Err)
					}
				}
			}
		})
	}
}
