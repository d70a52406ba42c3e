package ldapserver

import (
	"context"
	"slices"
	"testing"
)

// A group's entry is built with only the attributes a search returns or
// tests, as a user's is (membership searches such as nslcd's initgroups
// build three group entries each and return two attributes): the entry
// holds nothing else, and searches that test attributes they do not
// return find the same groups as searches that return everything.
func TestGroupEntriesBuildOnlyWhatTheSearchNeeds(t *testing.T) {
	f := newFixture(t, Access{})
	g, err := f.dir.Group(context.Background(), "staff")
	if err != nil {
		t.Fatal(err)
	}
	e := f.b.tree.groupEntry(g, []string{"uid=alice,ou=people,dc=example,dc=com"}, []string{"alice"}, nil, attrSet{attrKey("cn"): true, attrKey("memberUid"): true})
	var names []string
	for _, a := range e.attrs {
		names = append(names, a.name)
	}
	if !slices.Equal(names, []string{"cn", "memberUid"}) {
		t.Fatalf("entry built with cn and memberUid holds %v", names)
	}

	w := f.as(t, "cn=reader,ou=services,dc=example,dc=com", "reader-password")
	const base = "dc=example,dc=com"
	for _, filter := range []string{
		"(&(objectClass=posixGroup)(|(memberUid=alice)(member=uid=bob,ou=people,dc=example,dc=com)))",
		"(&(objectClass=groupOfNames)(gidNumber>=0))",
		"(structuralObjectClass=groupOfNames)",
		"(&(objectClass=sambaGroupMapping)(sambaGroupType=2)(!(cn=empty)))",
		"(&(objectClass=posixGroup)(hasSubordinates=FALSE)(entryUUID=" + g.ID + "))",
		"(&(objectClass=posixGroup)(createTimestamp>=20000101000000Z))",
		"(memberOf=cn=everyone,ou=groups,dc=example,dc=com)",
	} {
		narrow, res := f.search(t, w, base, scopeSub, filter, "cn")
		if res.code != 0 {
			t.Fatalf("%s: %d %s", filter, res.code, res.msg)
		}
		wide, _ := f.search(t, w, base, scopeSub, filter, "*", "+")
		if len(narrow) == 0 || !slices.Equal(dns(narrow), dns(wide)) {
			t.Errorf("%s: returning cn found %v, returning all found %v", filter, dns(narrow), dns(wide))
		}
		for _, n := range narrow {
			if len(n.attrs) != 1 || len(n.attrs["cn"]) != 1 {
				t.Errorf("%s: %s came back with %v", filter, n.dn, n.attrs)
			}
		}
	}
}
