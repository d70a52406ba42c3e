package ldapserver

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
)

// recordReads is a store that counts reads of user and group records, the
// reads that decode a record.
type recordReads struct {
	directory.Store
	users, groups atomic.Int64
}

func (s *recordReads) View(ctx context.Context, fn func(directory.Tx) error) error {
	return s.Store.View(ctx, func(tx directory.Tx) error { return fn(countingTx{tx, s}) })
}

type countingTx struct {
	directory.Tx
	s *recordReads
}

func (t countingTx) Get(bucket, key string) ([]byte, error) {
	switch bucket {
	case "users":
		t.s.users.Add(1)
	case "groups":
		t.s.groups.Add(1)
	}
	return t.Tx.Get(bucket, key)
}

// prefixUsers adds 600 users whose uids, mails and common names vary in
// case and spacing, some without mail, some in a chosen primary group
// (the rest have private groups, named after their uid), and 20 groups.
func prefixUsers(t testing.TB, f *fixture) {
	t.Helper()
	err := f.dir.Batch(context.Background(), func(b *directory.Batch) error {
		var gids []int
		for j := range 20 {
			cn := fmt.Sprintf("team-%02d", j)
			if j%4 == 0 {
				cn = fmt.Sprintf("Ann  Team %d", j)
			}
			g, err := b.CreateGroup(directory.Group{CN: cn})
			if err != nil {
				return err
			}
			gids = append(gids, g.GIDNumber)
		}
		for i := range 600 {
			u := directory.User{UID: fmt.Sprintf("%s%03d", []string{"ann", "Bert", "carl"}[i%3], i)}
			switch i % 4 {
			case 0:
				u.DisplayName = fmt.Sprintf("Anna  Maria %d", i)
			case 1:
				u.GivenName, u.Surname = "Bert", fmt.Sprintf("Ann%d", i)
			case 2:
				u.Surname = fmt.Sprintf("carl%d", i)
			}
			if i%7 != 0 {
				u.Mail = fmt.Sprintf("%s.%d@Example.COM", []string{"Carl", "ann", "BERT"}[i%3], i)
			}
			if i%5 == 0 {
				u.GIDNumber = gids[i%len(gids)]
			}
			if _, err := b.CreateUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A search-as-you-type OR of prefixes on uid, mail and cn is answered from
// the indexes: it reads the records of its matches, not every user (and
// every private group, which is another read of every user) as a scan
// does.
func TestPrefixSearchReadsOnlyItsMatches(t *testing.T) {
	store := &recordReads{}
	f := newFixtureOn(t, Access{}, func(s directory.Store) directory.Store { store.Store = s; return store })
	prefixUsers(t, f)
	_, addr := startServer(t, f)
	c := connect(t, addr, readerDN, "reader-password")
	store.users.Store(0)
	store.groups.Store(0)
	got := c.find(base, ldap.ScopeWholeSubtree, "(|(uid=ann01*)(mail=ann.1*)(cn=ann01*))", "uid", "cn", "mail")
	// ann012..ann019 and their private groups, and mail ann.1, ann.10,
	// ann.13, ann.16, ann.19, ann.1xx (users 100–199 with i%3 == 1 and a
	// mail).
	if len(got) < 20 {
		t.Fatalf("%d entries: %v", len(got), entryDNs(got))
	}
	users, groups := store.users.Load(), store.groups.Load()
	t.Logf("%d entries: %d user reads, %d group reads", len(got), users, groups)
	if users > int64(2*len(got)) || groups > 2 {
		t.Fatalf("%d entries took %d user reads and %d group reads: a scan of 600 users", len(got), users, groups)
	}
	store.users.Store(0)
	if got := c.find(groupsDN, ldap.ScopeSingleLevel, "(cn=ann  t*)", "cn"); len(got) != 5 {
		t.Fatalf("groups: %v", entryDNs(got))
	}
	if n := store.users.Load(); n > 0 {
		t.Fatalf("a prefix of group names read %d users: the private groups were scanned", n)
	}
}

// Every filter an index answers gives the entries a scan gives, in the
// same order, with or without a size limit and with paged results. The
// scan is the same filter under a double negation, which no index answers.
func TestIndexedSearchesMatchTheScan(t *testing.T) {
	f := newFixture(t, Access{})
	prefixUsers(t, f)
	_, addr := startServer(t, f)
	c := connect(t, addr, readerDN, "reader-password")
	filters := []string{
		"(|(uid=ann01*)(mail=ann01*)(cn=ann01*))",
		"(|(uid=BERT1*)(mail=bert.1*)(cn=bert1*))",
		"(cn=Anna  Maria 1*)",
		"(cn=anna maria 2*)",
		"(cn= ANNA   maria 3*)",
		"(uid=c*l0*9)",
		"(uid=carl*)",
		"(mail=CARL.2*)",
		"(mail=*example.com)",
		"(&(objectClass=posixAccount)(|(uid=ann*)(mail=carl.1*)))",
		"(&(objectClass=posixGroup)(cn=ann*))",
		"(|(cn=team*)(uid=ann00*))",
		"(cn=ann00*)",
		"(cn=ann*)",
		"(cn=a*)",
		"(|(uid=nomatch*)(cn=zz*))",
		"(|(uid=ann01*)(uidNumber=10002)(mail=bob@example.com))",
		"(|(uid=ann01*)(description=x*))",
		"(&(mail=ANN*)(!(uid=ann02*)))",
		"(uid= ann01*)",
		"(mail=ann*@*)",
		"(|(uid=a*)(cn=Bert Ann*))",
		"(|(cn=Bert Ann1*)(cn=Bert Ann2*)(uid=carl5*))",
		"(memberUid=ann*)",
		"(uidNumber=1*)",
	}
	scopes := []struct {
		dn    string
		scope int
	}{{base, ldap.ScopeWholeSubtree}, {peopleDN, ldap.ScopeSingleLevel}, {groupsDN, ldap.ScopeSingleLevel}}
	for _, flt := range filters {
		for _, sc := range scopes {
			for _, limit := range []int{0, 1, 7} {
				indexed, icode := searchDNs(c, sc.dn, sc.scope, limit, flt)
				scanned, scode := searchDNs(c, sc.dn, sc.scope, limit, "(!(!"+flt+"))")
				if icode != scode || !slices.Equal(indexed, scanned) {
					t.Fatalf("%s under %s, size limit %d:\nindexed (%d): %v\nscanned (%d): %v", flt, sc.dn, limit, icode, indexed, scode, scanned)
				}
			}
			indexed := pagedDNs(c, sc.dn, sc.scope, flt)
			if scanned := pagedDNs(c, sc.dn, sc.scope, "(!(!"+flt+"))"); !slices.Equal(indexed, scanned) {
				t.Fatalf("%s under %s in pages:\nindexed: %v\nscanned: %v", flt, sc.dn, indexed, scanned)
			}
		}
	}
}

// searchDNs is the DNs a search sends, in order, and its result code.
func searchDNs(c *client, dn string, scope, limit int, filter string) ([]string, uint16) {
	c.t.Helper()
	res, err := c.Search(ldap.NewSearchRequest(dn, scope, ldap.NeverDerefAliases, limit, 0, false, filter, []string{"1.1"}, nil))
	code := resultCode(err)
	if code != 0 && code != ldap.LDAPResultSizeLimitExceeded {
		c.t.Fatalf("search %s: %v", filter, err)
	}
	if res == nil {
		return nil, code
	}
	return inOrder(res.Entries), code
}

// inOrder is the DNs of es in the order they were sent.
func inOrder(es []*ldap.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.DN
	}
	return out
}

// pagedDNs is the DNs a search sends in pages of 3.
func pagedDNs(c *client, dn string, scope int, filter string) []string {
	c.t.Helper()
	res, err := c.SearchWithPaging(ldap.NewSearchRequest(dn, scope, ldap.NeverDerefAliases, 0, 0, false, filter, []string{"1.1"}, nil), 3)
	if err != nil {
		c.t.Fatalf("paged search %s: %v", filter, err)
	}
	return inOrder(res.Entries)
}

// nslcd's membership search names its user twice (memberUid and member),
// and each is looked up among groups and private groups; the user's
// record is read once for all of them.
func TestMembershipSearchReadsItsUserOnce(t *testing.T) {
	store := &recordReads{}
	f := newFixtureOn(t, Access{}, func(s directory.Store) directory.Store { store.Store = s; return store })
	_, addr := startServer(t, f)
	c := connect(t, addr, readerDN, "reader-password")
	store.users.Store(0)
	got := c.find(base, ldap.ScopeWholeSubtree, "(&(objectClass=posixGroup)(|(memberUid=alice)(member="+aliceDN+")))", "cn", "gidNumber")
	// staff, and alice's private group.
	if len(got) != 2 {
		t.Fatalf("groups: %v", entryDNs(got))
	}
	if n := store.users.Load(); n != 1 {
		t.Fatalf("the user's record was read %d times", n)
	}
}
