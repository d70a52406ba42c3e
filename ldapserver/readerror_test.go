package ldapserver

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
)

var errDiskRead = errors.New("injected disk read error")

// brokenBucket is a store whose reads of one bucket fail, once told which.
type brokenBucket struct {
	directory.Store
	bucket atomic.Pointer[string]
}

func (s *brokenBucket) View(ctx context.Context, fn func(directory.Tx) error) error {
	return s.Store.View(ctx, func(tx directory.Tx) error { return fn(brokenTx{tx, s}) })
}

type brokenTx struct {
	directory.Tx
	s *brokenBucket
}

func (t brokenTx) broken(bucket string) bool {
	b := t.s.bucket.Load()
	return b != nil && *b == bucket
}

func (t brokenTx) Get(bucket, key string) ([]byte, error) {
	if t.broken(bucket) {
		return nil, errDiskRead
	}
	return t.Tx.Get(bucket, key)
}

func (t brokenTx) Scan(bucket, prefix, after string, fn func(string, []byte) error) error {
	if t.broken(bucket) {
		return errDiskRead
	}
	return t.Tx.Scan(bucket, prefix, after, fn)
}

// lockedBuffer collects the server's log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	defer l.b.Reset()
	return l.b.String()
}

// A read that fails while a search runs ends it with resultCode other (80)
// and a log line, wherever in the search it happens: before, such errors
// were taken for "not found" and the client silently got fewer entries.
func TestSearchReadErrorsReachTheClient(t *testing.T) {
	store := &brokenBucket{}
	f := newFixtureOn(t, Access{}, func(s directory.Store) directory.Store { store.Store = s; return store })
	var logs lockedBuffer
	f.b.log = slog.New(slog.NewTextHandler(&logs, nil))
	_, addr := startServer(t, f)
	c := connect(t, addr, sambaDN, "samba-password")
	const (
		people = "ou=people,dc=example,dc=com"
		groups = "ou=groups,dc=example,dc=com"
	)
	for _, tc := range []struct {
		bucket, base, filter string
		attrs                []string
		paged                bool
	}{
		{"ix.name", groups, "(cn=staff)", []string{"member"}, false},               // naming members
		{"ix.name", groups, "(cn=staff)", []string{"memberUid"}, true},             // the same, page by page
		{"ix.usergid", people, "(gidNumber=10001)", []string{"uid"}, false},        // users by primary group
		{"ix.memberof", groups, "(member=" + aliceDN + ")", []string{"cn"}, false}, // groups by member
		{"ix.memberof", groups, "(memberUid=alice)", []string{"cn"}, false},
		{"ix.cn", people, "(memberOf=cn=staff," + groups + ")", []string{"uid"}, false}, // resolving a DN
		{"ix.uid", aliceDN, "(objectClass=*)", []string{"uid"}, false},                  // the base itself
		{"ix.usercn", people, "(cn=Alice Liddell)", []string{"uid"}, false},
		{"groups", people, "(memberOf:1.2.840.113556.1.4.1941:=cn=everyone," + groups + ")", []string{"uid"}, false},
		{"creds", aliceDN, "(objectClass=*)", []string{"sambaNTPassword"}, false},
	} {
		name := tc.bucket + " " + tc.filter
		if tc.paged {
			name += " paged"
		}
		t.Run(name, func(t *testing.T) {
			store.bucket.Store(&tc.bucket)
			defer store.bucket.Store(nil)
			req := ldap.NewSearchRequest(tc.base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, tc.filter, tc.attrs, nil)
			res, err := &ldap.SearchResult{}, error(nil)
			if tc.paged {
				res, err = c.SearchWithPaging(req, 1)
			} else {
				res, err = c.Search(req)
			}
			if res == nil {
				res = &ldap.SearchResult{}
			}
			if code := resultCode(err); code != ldap.LDAPResultOther {
				t.Errorf("result %d (%v) with %d entries, want other (80)", code, err, len(res.Entries))
			}
			if log := logs.take(); !strings.Contains(log, "ldap operation failed") || !strings.Contains(log, errDiskRead.Error()) {
				t.Errorf("log: %q", log)
			}
		})
	}
}

// A failed read while resolving the members of a group Modify is reported
// as such, not as "member does not exist".
func TestModifyMemberReadErrorReachesTheClient(t *testing.T) {
	store := &brokenBucket{}
	f := newFixtureOn(t, Access{}, func(s directory.Store) directory.Store { store.Store = s; return store })
	var logs lockedBuffer
	f.b.log = slog.New(slog.NewTextHandler(&logs, nil))
	_, addr := startServer(t, f)
	c := connect(t, addr, adminDN, "admin-password")
	for _, tc := range []struct{ bucket, attr, value string }{
		{"ix.uid", "memberUid", "alice"},
		{"ix.uid", "member", aliceDN},
	} {
		t.Run(tc.attr, func(t *testing.T) {
			req := ldap.NewModifyRequest("cn=empty,ou=groups,dc=example,dc=com", nil)
			req.Add(tc.attr, []string{tc.value})
			store.bucket.Store(&tc.bucket)
			err := c.Modify(req)
			store.bucket.Store(nil)
			if code := resultCode(err); code != ldap.LDAPResultOther {
				t.Errorf("result %d (%v), want other (80)", code, err)
			}
			if log := logs.take(); !strings.Contains(log, errDiskRead.Error()) {
				t.Errorf("log: %q", log)
			}
		})
	}
}
