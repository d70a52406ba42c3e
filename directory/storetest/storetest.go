package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

// Opener returns a fresh, empty store that lives until the test ends.
type Opener func(t *testing.T) directory.Store

// Run runs the whole suite against the backend.
func Run(t *testing.T, open Opener) {
	t.Run("KeyValue", func(t *testing.T) { testKeyValue(t, open(t)) })
	t.Run("NestedReads", func(t *testing.T) { testNestedReads(t, open(t)) })
	t.Run("Rollback", func(t *testing.T) { testRollback(t, open(t)) })
	t.Run("Backup", func(t *testing.T) { testBackup(t, open(t)) })
	t.Run("UserCRUD", func(t *testing.T) { testUserCRUD(t, newDir(t, open)) })
	t.Run("ConcurrentCreate", func(t *testing.T) { testConcurrentCreate(t, newDir(t, open)) })
	t.Run("ConcurrentUpdate", func(t *testing.T) { testConcurrentUpdate(t, newDir(t, open)) })
	t.Run("IndexConsistency", func(t *testing.T) { testIndexConsistency(t, newDir(t, open)) })
	t.Run("NestedGroups", func(t *testing.T) { testNestedGroups(t, newDir(t, open)) })
	t.Run("RenameKeepsUUID", func(t *testing.T) { testRename(t, newDir(t, open)) })
	t.Run("DeleteCascades", func(t *testing.T) { testDeleteCascades(t, newDir(t, open)) })
	t.Run("BindAccounts", func(t *testing.T) { testBindAccounts(t, newDir(t, open)) })
	t.Run("SecondFactors", func(t *testing.T) { testSecondFactors(t, open) })
}

func newDir(t *testing.T, open Opener) *directory.Directory {
	t.Helper()
	d, err := directory.New(context.Background(), open(t), directory.Options{PasswordParams: password.TestParams})
	if err != nil {
		t.Fatalf("directory.New: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func testKeyValue(t *testing.T, s directory.Store) {
	ctx := context.Background()
	must(t, s.Update(ctx, func(tx directory.Tx) error {
		for _, k := range []string{"b/2", "a/1", "b/1", "b/3", "c"} {
			if err := tx.Put("kv", k, []byte("v"+k)); err != nil {
				return err
			}
		}
		return nil
	}))
	must(t, s.View(ctx, func(tx directory.Tx) error {
		if v, err := tx.Get("kv", "b/2"); err != nil || string(v) != "vb/2" {
			t.Errorf("Get b/2 = %q, %v", v, err)
		}
		if _, err := tx.Get("kv", "zz"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("Get missing key: %v, want ErrNotFound", err)
		}
		if _, err := tx.Get("nobucket", "x"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("Get missing bucket: %v, want ErrNotFound", err)
		}
		if err := tx.Put("kv", "x", nil); err == nil {
			t.Error("Put in a read-only transaction succeeded")
		}
		var got []string
		collect := func(k string, _ []byte) error { got = append(got, k); return nil }
		must(t, tx.Scan("kv", "b/", "", collect))
		if want := []string{"b/1", "b/2", "b/3"}; !slices.Equal(got, want) {
			t.Errorf("Scan prefix = %v, want %v", got, want)
		}
		got = nil
		must(t, tx.Scan("kv", "b/", "b/1", collect))
		if want := []string{"b/2", "b/3"}; !slices.Equal(got, want) {
			t.Errorf("Scan after = %v, want %v", got, want)
		}
		got = nil
		must(t, tx.Scan("kv", "", "", func(k string, v []byte) error {
			got = append(got, k)
			if len(got) == 2 {
				return directory.ErrStop
			}
			return nil
		}))
		if want := []string{"a/1", "b/1"}; !slices.Equal(got, want) {
			t.Errorf("Scan with stop = %v, want %v", got, want)
		}
		return tx.Scan("nobucket", "", "", collect)
	}))
	must(t, s.Update(ctx, func(tx directory.Tx) error {
		if err := tx.Delete("kv", "b/2"); err != nil {
			return err
		}
		return tx.Delete("kv", "never-there")
	}))
	must(t, s.View(ctx, func(tx directory.Tx) error {
		if _, err := tx.Get("kv", "b/2"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("deleted key still there: %v", err)
		}
		return nil
	}))
}

// testNestedReads reads a bucket from inside a scan of the same bucket,
// in read-only and writable transactions: a Get and another Scan there
// leave the outer scan where it was.
func testNestedReads(t *testing.T, s directory.Store) {
	ctx := context.Background()
	keys := []string{"a", "b", "c", "d"}
	must(t, s.Update(ctx, func(tx directory.Tx) error {
		for _, k := range keys {
			if err := tx.Put("nest", k, []byte("v"+k)); err != nil {
				return err
			}
		}
		return nil
	}))
	walk := func(tx directory.Tx) error {
		var outer []string
		err := tx.Scan("nest", "", "", func(k string, v []byte) error {
			outer = append(outer, k)
			if got, err := tx.Get("nest", "d"); err != nil || string(got) != "vd" {
				t.Errorf("Get d inside the scan at %s = %q, %v", k, got, err)
			}
			var inner []string
			if err := tx.Scan("nest", "", k, func(k string, _ []byte) error { inner = append(inner, k); return nil }); err != nil {
				return err
			}
			if want := keys[slices.Index(keys, k)+1:]; !slices.Equal(inner, want) {
				t.Errorf("Scan after %s inside the scan = %v, want %v", k, inner, want)
			}
			if string(v) != "v"+k {
				t.Errorf("value of %s inside the scan = %q", k, v)
			}
			return nil
		})
		if !slices.Equal(outer, keys) {
			t.Errorf("outer scan = %v, want %v", outer, keys)
		}
		return err
	}
	must(t, s.View(ctx, walk))
	must(t, s.Update(ctx, walk))
}

func testRollback(t *testing.T, s directory.Store) {
	ctx := context.Background()
	boom := errors.New("boom")
	err := s.Update(ctx, func(tx directory.Tx) error {
		if err := tx.Put("kv", "k", []byte("v")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update returned %v, want the callback's error", err)
	}
	must(t, s.View(ctx, func(tx directory.Tx) error {
		if _, err := tx.Get("kv", "k"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("write of a failed transaction was kept")
		}
		return nil
	}))
}

func testBackup(t *testing.T, s directory.Store) {
	ctx := context.Background()
	must(t, s.Update(ctx, func(tx directory.Tx) error { return tx.Put("kv", "k", []byte("v")) }))
	var buf bytes.Buffer
	n, err := s.Backup(ctx, &buf)
	if err != nil || n == 0 || int64(buf.Len()) != n {
		t.Fatalf("Backup = %d, %v (buffer %d bytes)", n, err, buf.Len())
	}
}

func testUserCRUD(t *testing.T, d *directory.Directory) {
	ctx := context.Background()
	u, err := d.CreateUser(ctx, directory.User{UID: "alice", Mail: "alice@example.com", GivenName: "Alice", Surname: "Liddell", SSHKeys: []string{"ssh-ed25519 AAAA alice@x"}})
	must(t, err)
	if u.ID == "" || u.UIDNumber != directory.FirstID || u.GIDNumber != u.UIDNumber || u.HomeDirectory != "/home/alice" || u.LoginShell != "/bin/bash" || u.Created.IsZero() {
		t.Fatalf("defaults not applied: %+v", u)
	}
	got, err := d.User(ctx, "ALICE")
	must(t, err)
	if got.ID != u.ID || got.SSHKeys[0] != "ssh-ed25519 AAAA alice@x" {
		t.Fatalf("User(ALICE) = %+v", got)
	}
	bob, err := d.CreateUser(ctx, directory.User{UID: "bob", Mail: "bob@example.com"})
	must(t, err)
	if bob.UIDNumber != directory.FirstID+1 {
		t.Errorf("second uidNumber = %d", bob.UIDNumber)
	}
	for _, bad := range []directory.User{
		{UID: "bad uid", Mail: "x@example.com"},
		{UID: "-x", Mail: "x@example.com"},
		{UID: "ok", Mail: "not-an-address"},
		{UID: "ok", Mail: "ok@example.com", DisplayName: strings.Repeat("x", 257)},
		{UID: "ok", Mail: "ok@example.com", GivenName: "two\nlines"},
	} {
		if _, err := d.CreateUser(ctx, bad); !errors.Is(err, directory.ErrInvalid) {
			t.Errorf("CreateUser(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
	upd, err := d.UpdateUser(ctx, "alice", func(u *directory.User) error { u.DisplayName = "Alice L."; return nil })
	must(t, err)
	if upd.DisplayName != "Alice L." || !upd.Modified.After(u.Modified) && !upd.Modified.Equal(u.Modified) {
		t.Errorf("update not applied: %+v", upd)
	}
	must(t, d.DeleteUser(ctx, "bob"))
	if _, err := d.User(ctx, "bob"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("deleted user found: %v", err)
	}
	if err := d.DeleteUser(ctx, "bob"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("second delete = %v", err)
	}
}

func testConcurrentCreate(t *testing.T, d *directory.Directory) {
	ctx := context.Background()
	cases := []struct {
		name string
		user func(i int) directory.User
	}{
		{"uid", func(i int) directory.User {
			return directory.User{UID: "same", Mail: fmt.Sprintf("u%d@example.com", i)}
		}},
		{"uid-case", func(i int) directory.User {
			return directory.User{UID: []string{"carol", "Carol", "CAROL"}[i%3], Mail: fmt.Sprintf("c%d@example.com", i)}
		}},
		{"mail", func(i int) directory.User {
			return directory.User{UID: fmt.Sprintf("m%d", i), Mail: "same@example.com"}
		}},
		{"uidNumber", func(i int) directory.User {
			return directory.User{UID: fmt.Sprintf("n%d", i), Mail: fmt.Sprintf("n%d@example.com", i), UIDNumber: 50000}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for i := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := d.CreateUser(ctx, c.user(i))
					if err == nil {
						mu.Lock()
						wins++
						mu.Unlock()
					} else if !errors.Is(err, directory.ErrAlreadyExists) {
						t.Errorf("unexpected error: %v", err)
					}
				}()
			}
			wg.Wait()
			if wins != 1 {
				t.Fatalf("%d concurrent creations succeeded, want 1", wins)
			}
		})
	}
}

func testConcurrentUpdate(t *testing.T, d *directory.Directory) {
	ctx := context.Background()
	_, err := d.CreateUser(ctx, directory.User{UID: "counter", Mail: "counter@example.com"})
	must(t, err)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := d.UpdateUser(ctx, "counter", func(u *directory.User) error {
				u.SSHKeys = append(u.SSHKeys, fmt.Sprintf("ssh-ed25519 KEY%d", i))
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	u, err := d.User(ctx, "counter")
	must(t, err)
	if len(u.SSHKeys) != 20 {
		t.Fatalf("%d keys after 20 concurrent appends: updates were lost", len(u.SSHKeys))
	}
}

func testIndexConsistency(t *testing.T, d *directory.Directory) {
	ctx := context.Background()
	for _, g := range []directory.Group{{CN: "g500", GIDNumber: 500}, {CN: "g501", GIDNumber: 501}} {
		_, err := d.CreateGroup(ctx, g)
		must(t, err)
	}
	u, err := d.CreateUser(ctx, directory.User{UID: "dave", Mail: "dave@example.com", UIDNumber: 20000, GIDNumber: 500})
	must(t, err)
	_, err = d.UpdateUser(ctx, "dave", func(u *directory.User) error {
		u.Mail, u.UIDNumber, u.GIDNumber = "david@example.com", 20001, 501
		return nil
	})
	must(t, err)
	must(t, d.View(ctx, func(ctx context.Context, r directory.Reader) error {
		if _, err := r.UserByMail("dave@example.com"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("old mail still indexed: %v", err)
		}
		if _, err := r.UserByUIDNumber(20000); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("old uidNumber still indexed: %v", err)
		}
		if got, err := r.UserByMail("DAVID@example.com"); err != nil || got.ID != u.ID {
			t.Errorf("new mail not indexed: %v", err)
		}
		if got, err := r.UserByUIDNumber(20001); err != nil || got.ID != u.ID {
			t.Errorf("new uidNumber not indexed: %v", err)
		}
		var byGID []string
		must(t, r.UsersByGIDNumber(501, func(u directory.User) error { byGID = append(byGID, u.UID); return nil }))
		must(t, r.UsersByGIDNumber(500, func(u directory.User) error { t.Errorf("old gidNumber still indexed"); return nil }))
		if !slices.Equal(byGID, []string{"dave"}) {
			t.Errorf("users by gidNumber 501 = %v", byGID)
		}
		return nil
	}))
	// The freed values can be taken by someone else.
	_, err = d.CreateUser(ctx, directory.User{UID: "dave2", Mail: "dave@example.com", UIDNumber: 20000})
	must(t, err)
	_, err = d.CreateGroup(ctx, directory.Group{CN: "ops", GIDNumber: 30000})
	must(t, err)
	if _, err := d.CreateGroup(ctx, directory.Group{CN: "OPS"}); !errors.Is(err, directory.ErrAlreadyExists) {
		t.Errorf("duplicate group name: %v", err)
	}
	if _, err := d.CreateGroup(ctx, directory.Group{CN: "ops2", GIDNumber: 30000}); !errors.Is(err, directory.ErrAlreadyExists) {
		t.Errorf("duplicate gidNumber: %v", err)
	}
	_, err = d.UpdateGroup(ctx, "ops", func(g *directory.Group) error { g.CN, g.GIDNumber = "operations", 30001; return nil })
	must(t, err)
	must(t, d.View(ctx, func(ctx context.Context, r directory.Reader) error {
		if _, err := r.GroupByCN("ops"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("old group name still indexed")
		}
		g, err := r.GroupByGIDNumber(30001)
		if err != nil || g.CN != "operations" {
			t.Errorf("group by new gidNumber: %v %v", g, err)
		}
		if name, err := r.Name(g.ID); err != nil || name != "operations" {
			t.Errorf("name index after a group rename: %q %v", name, err)
		}
		return nil
	}))
	testCommonNameIndex(t, d)
}

// testCommonNameIndex follows a user's common name, which the display
// name, given name, surname and (without those) the uid make, through
// create, update, rename and delete.
func testCommonNameIndex(t *testing.T, d *directory.Directory) {
	ctx := context.Background()
	byCN := func(cn string) []string {
		t.Helper()
		var uids []string
		must(t, d.View(ctx, func(ctx context.Context, r directory.Reader) error {
			return r.UsersByCommonName(cn, func(u directory.User) error {
				uids = append(uids, u.UID)
				return nil
			})
		}))
		slices.Sort(uids)
		return uids
	}
	expect := func(step string, want map[string][]string) {
		t.Helper()
		for cn, uids := range want {
			if got := byCN(cn); !slices.Equal(got, uids) {
				t.Errorf("%s: users with cn %q = %v, want %v", step, cn, got, uids)
			}
		}
	}
	_, err := d.CreateUser(ctx, directory.User{UID: "erin", GivenName: "Erin", Surname: "Moss"})
	must(t, err)
	_, err = d.CreateUser(ctx, directory.User{UID: "erin2", DisplayName: "ERIN MOSS"})
	must(t, err)
	_, err = d.CreateUser(ctx, directory.User{UID: "nameless"})
	must(t, err)
	expect("create", map[string][]string{"erin moss": {"erin", "erin2"}, "Nameless": {"nameless"}})

	_, err = d.UpdateUser(ctx, "erin", func(u *directory.User) error { u.DisplayName = "Erin M."; return nil })
	must(t, err)
	_, err = d.UpdateUser(ctx, "erin2", func(u *directory.User) error { u.DisplayName, u.Surname = "", "Moss"; return nil })
	must(t, err)
	expect("update", map[string][]string{"erin moss": nil, "erin m.": {"erin"}, "moss": {"erin2"}})

	_, err = d.RenameUser(ctx, "nameless", "anon")
	must(t, err)
	_, err = d.RenameUser(ctx, "erin", "erinm")
	must(t, err)
	expect("rename", map[string][]string{"nameless": nil, "anon": {"anon"}, "erin m.": {"erinm"}})

	must(t, d.DeleteUser(ctx, "erinm"))
	must(t, d.DeleteUser(ctx, "anon"))
	expect("delete", map[string][]string{"erin m.": nil, "anon": nil, "moss": {"erin2"}})
}

func testNestedGroups(t *testing.T, d *directory.Directory) {
	ctx := context.Background()
	_, err := d.CreateUser(ctx, directory.User{UID: "erin", Mail: "erin@example.com"})
	must(t, err)
	for _, cn := range []string{"staff", "eng", "backend"} {
		_, err := d.CreateGroup(ctx, directory.Group{CN: cn})
		must(t, err)
	}
	ref := directory.ParseMemberRef
	_, err = d.ChangeMembers(ctx, "backend", []directory.MemberRef{ref("erin")}, nil)
	must(t, err)
	_, err = d.ChangeMembers(ctx, "eng", []directory.MemberRef{ref("group:backend")}, nil)
	must(t, err)
	_, err = d.ChangeMembers(ctx, "staff", []directory.MemberRef{ref("group:eng")}, nil)
	must(t, err)
	groups, err := d.EffectiveGroups(ctx, "erin")
	must(t, err)
	var names []string
	for _, g := range groups {
		names = append(names, g.CN)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"backend", "eng", "staff"}) {
		t.Errorf("effective groups = %v", names)
	}
	for _, c := range []struct{ group, member string }{
		{"backend", "group:staff"}, {"backend", "group:eng"}, {"eng", "group:eng"},
	} {
		if _, err := d.ChangeMembers(ctx, c.group, []directory.MemberRef{ref(c.member)}, nil); !errors.Is(err, directory.ErrConflict) {
			t.Errorf("adding %s to %s: %v, want a cycle refusal", c.member, c.group, err)
		}
	}
	if _, err := d.ChangeMembers(ctx, "staff", []directory.MemberRef{ref("nobody")}, nil); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("adding a missing user: %v", err)
	}
	must(t, d.View(ctx, func(ctx context.Context, r directory.Reader) error {
		staff, err := r.GroupByCN("staff")
		must(t, err)
		users, err := r.EffectiveUserIDs(staff.ID)
		must(t, err)
		if len(users) != 1 {
			t.Errorf("effective users of staff = %v", users)
		}
		return nil
	}))
}

func testRename(t *testing.T, d *directory.Directory) {
	ctx := context.Background()
	u, err := d.CreateUser(ctx, directory.User{UID: "frank", Mail: "frank@example.com"})
	must(t, err)
	_, err = d.CreateGroup(ctx, directory.Group{CN: "team"})
	must(t, err)
	_, err = d.ChangeMembers(ctx, "team", []directory.MemberRef{{Name: "frank"}}, nil)
	must(t, err)
	r, err := d.RenameUser(ctx, "frank", "franklin")
	must(t, err)
	if r.ID != u.ID {
		t.Fatalf("rename changed entryUUID %s -> %s", u.ID, r.ID)
	}
	if _, err := d.User(ctx, "frank"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("old uid still resolves")
	}
	must(t, d.View(ctx, func(ctx context.Context, r directory.Reader) error {
		if name, err := r.Name(u.ID); err != nil || name != "franklin" {
			t.Errorf("name index after rename: %q %v", name, err)
		}
		return nil
	}))
	groups, err := d.EffectiveGroups(ctx, "franklin")
	must(t, err)
	if len(groups) != 1 || groups[0].CN != "team" {
		t.Errorf("membership lost on rename: %v", groups)
	}
	_, err = d.CreateUser(ctx, directory.User{UID: "grace", Mail: "grace@example.com"})
	must(t, err)
	if _, err := d.RenameUser(ctx, "grace", "FRANKLIN"); !errors.Is(err, directory.ErrAlreadyExists) {
		t.Errorf("rename onto a taken uid: %v", err)
	}
}

func testDeleteCascades(t *testing.T, d *directory.Directory) {
	ctx := context.Background()
	_, err := d.CreateUser(ctx, directory.User{UID: "heidi", Mail: "heidi@example.com"})
	must(t, err)
	for _, cn := range []string{"g1", "g2", "parent"} {
		_, err := d.CreateGroup(ctx, directory.Group{CN: cn})
		must(t, err)
		if cn != "parent" {
			_, err = d.ChangeMembers(ctx, cn, []directory.MemberRef{{Name: "heidi"}}, nil)
			must(t, err)
		}
	}
	_, err = d.ChangeMembers(ctx, "parent", []directory.MemberRef{{Group: true, Name: "g1"}}, nil)
	must(t, err)
	u, err := d.User(ctx, "heidi")
	must(t, err)
	must(t, d.DeleteUser(ctx, "heidi"))
	must(t, d.View(ctx, func(ctx context.Context, r directory.Reader) error {
		for _, cn := range []string{"g1", "g2"} {
			g, err := r.GroupByCN(cn)
			must(t, err)
			if slices.Contains(g.Users, u.ID) {
				t.Errorf("deleted user still in %s", cn)
			}
		}
		if ids, _ := r.DirectGroupIDs(u.ID); len(ids) != 0 {
			t.Errorf("membership index keeps deleted user: %v", ids)
		}
		return nil
	}))
	g1, err := d.Group(ctx, "g1")
	must(t, err)
	must(t, d.DeleteGroup(ctx, "g1"))
	parent, err := d.Group(ctx, "parent")
	must(t, err)
	if slices.Contains(parent.Groups, g1.ID) {
		t.Errorf("deleted group still nested in parent")
	}
}

func testBindAccounts(t *testing.T, d *directory.Directory) {
	ctx := context.Background()
	_, err := d.CreateBindAccount(ctx, "nas", []directory.Right{directory.RightRead, directory.RightSamba}, "nas-secret-pw")
	must(t, err)
	if _, err := d.CreateBindAccount(ctx, "NAS", nil, "other-secret"); !errors.Is(err, directory.ErrAlreadyExists) {
		t.Errorf("duplicate bind account: %v", err)
	}
	a, err := d.BindAccount(ctx, "nas")
	must(t, err)
	if !a.Has(directory.RightSamba) || a.Has(directory.RightAdmin) {
		t.Errorf("rights = %v", a.Rights)
	}
	must(t, d.DeleteBindAccount(ctx, "nas"))
	if _, err := d.BindAccount(ctx, "nas"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("deleted account found")
	}
}
