package ldapserver

import (
	"fmt"
	"reflect"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"
)

// Searches with the same attribute list share one parsed selection, and
// one set of needed attributes when the filter tests only those; a filter
// that tests others gets a set of its own, and the shared one is left as
// it was. The cache stops growing at maxSelections lists.
func TestSelectionsAreShared(t *testing.T) {
	var c selectionCache
	attrs := []string{"uid", "cn", "objectClass"}
	a, b := c.get(attrs), c.get([]string{"uid", "cn", "objectClass"})
	if reflect.ValueOf(a.named).Pointer() != reflect.ValueOf(b.named).Pointer() {
		t.Fatal("the same attribute list was parsed twice")
	}
	filter := func(s string) *Filter {
		p, err := ldap.CompileFilter(s)
		if err != nil {
			t.Fatal(err)
		}
		f, err := decodeFilter(p)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	if got := a.needs(filter("(&(objectClass=posixAccount)(uid=alice))")); reflect.ValueOf(got).Pointer() != reflect.ValueOf(a.keys).Pointer() {
		t.Fatal("a filter on returned attributes did not share the selection's set")
	}
	got := a.needs(filter("(&(uid=alice)(mail=a*))"))
	if !got.has("mail") || !got.has("uid") || a.keys.has("mail") {
		t.Fatalf("needs %v, shared set %v", got, a.keys)
	}
	if got := a.needs(filter("(:dn:=alice)")); got != nil {
		t.Fatalf("a filter on every attribute needs %v, want all", got)
	}
	for i := range maxSelections + 10 {
		c.get([]string{fmt.Sprint("attr", i)})
	}
	if n := c.n.Load(); n != maxSelections {
		t.Fatalf("%d lists kept", n)
	}
}
