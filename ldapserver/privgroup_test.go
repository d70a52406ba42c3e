package ldapserver

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"
)

// TestPrimaryGroupOverLDAP: an admin chooses a user's primary group by
// writing gidNumber, which must be a group's (the user joins it) or the
// user's own number (the private group); private groups cannot be deleted,
// shadowed by a new group, or have their number taken.
func TestPrimaryGroupOverLDAP(t *testing.T) {
	f := newFixture(t, Access{})
	ctx := context.Background()
	_, addr := startServer(t, f)
	c := connect(t, addr, adminDN, "admin-password")
	empty, err := f.dir.Group(ctx, "empty")
	if err != nil {
		t.Fatal(err)
	}
	setGID := func(n int) error {
		req := ldap.NewModifyRequest(bobDN, nil)
		req.Replace("gidNumber", []string{fmt.Sprint(n)})
		return c.Modify(req)
	}
	code := func(err error) uint16 {
		var le *ldap.Error
		if errors.As(err, &le) {
			return le.ResultCode
		}
		return 0
	}

	if err := setGID(empty.GIDNumber); err != nil {
		t.Fatal(err)
	}
	g := c.find("cn=empty,"+groupsDN, ldap.ScopeBaseObject, "(objectClass=*)", "memberUid")[0]
	if !slices.Equal(g.GetAttributeValues("memberUid"), []string{"bob"}) {
		t.Errorf("bob did not join his new primary group: %v", g.GetAttributeValues("memberUid"))
	}
	if got := c.find(base, ldap.ScopeWholeSubtree, "(&(objectClass=posixGroup)(cn=bob))"); len(got) != 0 {
		t.Errorf("bob's private group is still served: %v", entryDNs(got))
	}
	del := ldap.NewModifyRequest("cn=empty,"+groupsDN, nil)
	del.Delete("memberUid", []string{"bob"})
	if err := c.Modify(del); code(err) != ldap.LDAPResultUnwillingToPerform || !strings.Contains(err.Error(), "primary group of bob") {
		t.Errorf("taking bob out of his primary group: %v", err)
	}
	if err := setGID(4242); code(err) != ldap.LDAPResultConstraintViolation {
		t.Errorf("gidNumber of no group: %v", err)
	}
	if err := setGID(10001); code(err) != ldap.LDAPResultConstraintViolation {
		t.Errorf("gidNumber of alice's private group: %v", err)
	}
	if err := setGID(10002); err != nil {
		t.Errorf("back to the private group: %v", err)
	}
	if got := c.find(base, ldap.ScopeWholeSubtree, "(&(objectClass=posixGroup)(cn=bob))", "gidNumber"); len(got) != 1 || got[0].GetAttributeValue("gidNumber") != "10002" {
		t.Errorf("bob's private group: %v", entryDNs(got))
	}

	if err := c.Del(ldap.NewDelRequest("cn=alice,"+groupsDN, nil)); code(err) != ldap.LDAPResultUnwillingToPerform {
		t.Errorf("delete of a private group: %v", err)
	}
	for name, attrs := range map[string]map[string][]string{
		"cn=alice": {"objectClass": {"posixGroup"}, "cn": {"alice"}},
		"cn=ops":   {"objectClass": {"posixGroup"}, "cn": {"ops"}, "gidNumber": {"10001"}},
	} {
		add := ldap.NewAddRequest(name+","+groupsDN, nil)
		for a, v := range attrs {
			add.Attribute(a, v)
		}
		if err := c.Add(add); code(err) != ldap.LDAPResultEntryAlreadyExists {
			t.Errorf("add %s: %v", name, err)
		}
	}
}
