package console_test

import (
	"context"
	"encoding/json"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/console"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/ldapserver"
	"github.com/atrium-dir/atrium/ldapserver/ldapbench"
	"github.com/atrium-dir/atrium/ldif"
)

// BenchmarkUserSearch compares, at 100,000 users, a search on the
// console's users page (the JSON page of 50 the search-as-you-type script
// asks for, over HTTP) with the LDAP search a client sends for the same
// users ((|(uid=Q*)(mail=Q*)(cn=Q*)) under ou=people, at most 50 entries,
// over TCP), both answered in this process. Besides time per search it
// reports the process CPU time per search (cpu-ns/op), client included in
// both.
func BenchmarkUserSearch(b *testing.B) {
	ds := ldapbench.Dataset{Base: "dc=example,dc=com", Users: 100_000, Groups: 1000}
	st := newSiteWith(b, directory.MFAPolicy{}, true, func(d *directory.Directory) error { return ds.LoadAtrium(context.Background(), d) }, console.Options{})
	admin := st.client()
	admin.signIn("/admin/", "admin")

	layout, _ := ldif.NewLayout(ds.Base)
	srv := &ldapserver.Server{Backend: ldapserver.NewBackend(ldapserver.BackendConfig{Directory: st.d, Layout: layout})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Shutdown(context.Background()) })
	conn, err := ldap.DialURL("ldap://" + ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(ds.ReaderDN(), ldapbench.ReaderPassword); err != nil {
		b.Fatal(err)
	}

	for _, q := range []string{"user012345", "user0123", "user01"} {
		b.Run("console/"+q, func(b *testing.B) {
			cpu := cpuClock()
			for b.Loop() {
				resp, body := admin.get("/admin/users?format=json&q=" + q)
				var page struct{ Users []json.RawMessage }
				if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &page) != nil || len(page.Users) == 0 {
					b.Fatalf("console search %s: %d %.200s", q, resp.StatusCode, body)
				}
			}
			b.ReportMetric(float64(cpuClock()-cpu)/float64(b.N), "cpu-ns/op")
		})
		b.Run("ldap/"+q, func(b *testing.B) {
			filter := "(|(uid=" + q + "*)(mail=" + q + "*)(cn=" + q + "*))"
			cpu := cpuClock()
			for b.Loop() {
				res, err := conn.Search(ldap.NewSearchRequest("ou=people,"+ds.Base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 50, 0, false, filter, []string{"uid", "cn", "mail"}, nil))
				if (err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded)) || res == nil || len(res.Entries) == 0 {
					b.Fatalf("ldap search %s: %v", q, err)
				}
			}
			b.ReportMetric(float64(cpuClock()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// cpuClock is the CPU time this process has used, user and system.
func cpuClock() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
