package ldapserver

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"
)

// A NAS lists users with their NT hashes, page by page, while an admin
// adds users: every write that grows the database file waits for the open
// reads, and a search that opened a second, nested read behind it froze
// the whole server.
func TestSambaListingWhileAddingDoesNotStall(t *testing.T) {
	if testing.Short() {
		t.Skip("adds 2,000 users over LDAP")
	}
	const adds, stallAfter = 2000, 30 * time.Second
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	nas := connect(t, addr, sambaDN, "samba-password")
	admin := connect(t, addr, adminDN, "admin-password")

	var added, listed atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for added.Load() < adds {
			select {
			case <-stop:
				return
			default:
			}
			uid := fmt.Sprintf("load%04d", added.Load())
			req := ldap.NewAddRequest("uid="+uid+",ou=people,dc=example,dc=com", nil)
			req.Attribute("objectClass", []string{"inetOrgPerson", "posixAccount"})
			req.Attribute("cn", []string{uid})
			req.Attribute("sn", []string{uid})
			if err := admin.Add(req); err != nil {
				t.Errorf("add %s: %v", uid, err)
				return
			}
			added.Add(1)
		}
	})
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			req := ldap.NewSearchRequest("ou=people,dc=example,dc=com", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
				"(objectClass=sambaSamAccount)", []string{"uid", "sambaSID", "sambaNTPassword"}, nil)
			res, err := nas.SearchWithPaging(req, 100)
			if err != nil {
				t.Errorf("listing: %v", err)
				return
			}
			if got := res.Entries[0].GetAttributeValue("sambaNTPassword"); len(got) != 32 {
				t.Errorf("alice's sambaNTPassword = %q", got)
				return
			}
			listed.Add(1)
		}
	})

	// A stalled store cannot be closed, so a stall ends the test binary
	// with every goroutine's stack, from a goroutine of its own: a panic
	// in the test's goroutine would run the cleanups, which would hang.
	last, lastAt := int64(-1), time.Now()
	for added.Load() < adds && !t.Failed() {
		time.Sleep(100 * time.Millisecond)
		if now := added.Load() + listed.Load(); now != last {
			last, lastAt = now, time.Now()
		} else if time.Since(lastAt) > stallAfter {
			debug.SetTraceback("all")
			msg := fmt.Sprintf("LDAP stalled: no add or listing finished for %v (%d added, %d listings)", stallAfter, added.Load(), listed.Load())
			go func() { panic(msg) }()
			select {}
		}
	}
	close(stop)
	wg.Wait()
	if listed.Load() == 0 {
		t.Errorf("no listing finished while %d users were added", adds)
	}
	t.Logf("%d users added during %d listings", added.Load(), listed.Load())
}
