package ldapserver

import (
	"context"
	"errors"
	"strconv"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
)

// Each LDAP write is one directory transaction: when any part of it is
// refused, nothing of it is kept.
func TestOneChangeOneTransaction(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	admin := connect(t, addr, adminDN, "admin-password")
	ctx := context.Background()

	t.Run("add of a user whose password is refused leaves no user", func(t *testing.T) {
		a := ldap.NewAddRequest("uid=dave,"+peopleDN, nil)
		a.Attribute("objectClass", []string{"inetOrgPerson", "posixAccount"})
		a.Attribute("uid", []string{"dave"})
		a.Attribute("cn", []string{"Dave"})
		a.Attribute("sn", []string{"Dave"})
		a.Attribute("mail", []string{"dave@example.com"})
		a.Attribute("userPassword", []string{"short"})
		if err := admin.Add(a); resultCode(err) != ldap.LDAPResultConstraintViolation {
			t.Fatalf("add with a refused password: %v, want constraint violation", err)
		}
		if _, err := f.dir.User(ctx, "dave"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("the user outlived the refused add: %v", err)
		}
		if n := len(admin.find(peopleDN, ldap.ScopeSingleLevel, "(uid=dave)")); n != 0 {
			t.Errorf("search finds %d entries for the refused user", n)
		}
		// The same add with an acceptable password goes through whole.
		a.Attributes[len(a.Attributes)-1].Vals = []string{"dave-password"}
		if err := admin.Add(a); err != nil {
			t.Fatalf("add with a good password: %v", err)
		}
		connect(t, addr, "uid=dave,"+peopleDN, "dave-password")
	})

	t.Run("add of a group with a member that does not exist leaves no group", func(t *testing.T) {
		addGroup := func(cn string, members ...string) error {
			a := ldap.NewAddRequest("cn="+cn+","+groupsDN, nil)
			a.Attribute("objectClass", []string{"groupOfNames", "posixGroup"})
			a.Attribute("cn", []string{cn})
			if len(members) > 0 {
				a.Attribute("member", members)
			}
			return admin.Add(a)
		}
		gid := func(cn string) int {
			t.Helper()
			g, err := f.dir.Group(ctx, cn)
			if err != nil {
				t.Fatalf("group %s: %v", cn, err)
			}
			return g.GIDNumber
		}
		if err := addGroup("before"); err != nil {
			t.Fatal(err)
		}
		if err := addGroup("ghosts", aliceDN, noSuchDN); resultCode(err) != ldap.LDAPResultConstraintViolation {
			t.Fatalf("add with a missing member: %v, want constraint violation", err)
		}
		if _, err := f.dir.Group(ctx, "ghosts"); !errors.Is(err, directory.ErrNotFound) {
			t.Errorf("the group outlived the refused add: %v", err)
		}
		groups, err := f.dir.EffectiveGroups(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			if g.CN == "ghosts" {
				t.Error("alice is still in the refused group")
			}
		}
		// Not even a gidNumber was used up by the refused add.
		if err := addGroup("after", aliceDN); err != nil {
			t.Fatal(err)
		}
		if gid("after") != gid("before")+1 {
			t.Errorf("gidNumbers %d then %d: the refused add used one up", gid("before"), gid("after"))
		}
		e := admin.find("cn=after,"+groupsDN, ldap.ScopeBaseObject, "(objectClass=*)", "member")
		if len(e) != 1 || e[0].GetAttributeValue("member") != aliceDN {
			t.Errorf("group added with members: %+v", e)
		}
	})

	t.Run("modify of attributes with a refused password changes nothing", func(t *testing.T) {
		before, err := f.dir.User(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		m := ldap.NewModifyRequest(aliceDN, nil)
		m.Replace("mail", []string{"alice.new@example.com"})
		m.Replace("loginShell", []string{"/bin/zsh"})
		m.Replace("uidNumber", []string{strconv.Itoa(before.UIDNumber + 500)})
		m.Replace("userPassword", []string{"short"})
		if err := admin.Modify(m); resultCode(err) != ldap.LDAPResultConstraintViolation {
			t.Fatalf("modify with a refused password: %v, want constraint violation", err)
		}
		after, err := f.dir.User(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if after.Mail != before.Mail || after.LoginShell != before.LoginShell || after.UIDNumber != before.UIDNumber || !after.Modified.Equal(before.Modified) {
			t.Errorf("alice changed by a refused modify: %+v, was %+v", after, before)
		}
		connect(t, addr, aliceDN, "alice-password")
		// The same change with an acceptable password goes through whole.
		m.Changes[len(m.Changes)-1].Modification.Vals = []string{"alice-new-password"}
		if err := admin.Modify(m); err != nil {
			t.Fatalf("modify with a good password: %v", err)
		}
		if u, _ := f.dir.User(ctx, "alice"); u.Mail != "alice.new@example.com" || u.LoginShell != "/bin/zsh" {
			t.Errorf("modify kept %q %q", u.Mail, u.LoginShell)
		}
		connect(t, addr, aliceDN, "alice-new-password")
	})
}
