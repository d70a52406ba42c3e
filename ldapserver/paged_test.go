package ldapserver

import (
	"context"
	"fmt"
	"sync"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
)

// TestPagedListingWhileWriting pages through every user, as a sync job
// does, while another client adds and deletes users: each user there from
// start to end is listed exactly once, none twice, and one deleted before
// the listing reached it is not listed.
func TestPagedListingWhileWriting(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	ctx := context.Background()
	const users = 3000
	err := f.dir.Batch(ctx, func(b *directory.Batch) error {
		for i := range users {
			if _, err := b.CreateUser(directory.User{UID: fmt.Sprintf("sync%04d", i), Mail: fmt.Sprintf("sync%04d@example.com", i)}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	c := connect(t, addr, readerDN, "reader-password")
	req := func(cookie []byte) *ldap.SearchResult {
		t.Helper()
		pc := ldap.NewControlPaging(500)
		pc.SetCookie(cookie)
		res, err := c.Search(ldap.NewSearchRequest(peopleDN, ldap.ScopeSingleLevel, 0, 0, 0, false,
			"(&(objectClass=posixAccount)(uid=*))", []string{"uid", "mail"}, []ldap.Control{pc}))
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	seen := map[string]int{}
	var wg sync.WaitGroup
	var deleted []string // while the listing runs, racing it
	var cookie []byte
	for page := 0; ; page++ {
		res := req(cookie)
		for _, e := range res.Entries {
			seen[e.GetAttributeValue("uid")]++
			if e.GetAttributeValue("mail") == "" {
				t.Fatalf("%s has no mail", e.DN)
			}
		}
		switch page {
		case 0:
			// Gone before the listing reaches them.
			for i := 2000; i < 2010; i++ {
				if err := f.dir.DeleteUser(ctx, fmt.Sprintf("sync%04d", i)); err != nil {
					t.Fatal(err)
				}
			}
			wg.Add(1)
			go func() { // writes while later pages are read
				defer wg.Done()
				for i := range 100 {
					f.dir.CreateUser(ctx, directory.User{UID: fmt.Sprintf("sync%04dn", i*25)})
					uid := fmt.Sprintf("sync%04d", 500+i*20)
					f.dir.DeleteUser(ctx, uid)
					deleted = append(deleted, uid)
				}
			}()
		}
		pc := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if len(pc.Cookie) == 0 {
			break
		}
		cookie = pc.Cookie
	}
	wg.Wait()
	gone := map[string]bool{}
	for _, uid := range deleted {
		gone[uid] = true
	}
	for i := range users {
		uid := fmt.Sprintf("sync%04d", i)
		switch n := seen[uid]; {
		case i >= 2000 && i < 2010 && n != 0:
			t.Errorf("%s, deleted before its page, was listed", uid)
		case n > 1:
			t.Errorf("%s listed %d times", uid, n)
		case n == 0 && !gone[uid] && (i < 2000 || i >= 2010):
			t.Errorf("%s, never deleted, was not listed", uid)
		}
	}
	for uid, n := range seen {
		if n > 1 {
			t.Errorf("%s listed %d times", uid, n)
		}
	}
}
