package ldapserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/ldif"
)

// TestExportAndSearchAgreeOnUsers: an LDIF export and an LDAP search give
// the same attributes for the same user (one mapping, ldif.UserAttributes),
// displayName and shadowExpire included. Only what depends on where the
// entry goes differs: Samba's attributes and memberOf over LDAP, and the
// timestamps' spelling.
func TestExportAndSearchAgreeOnUsers(t *testing.T) {
	f := newFixture(t, Access{})
	ctx := context.Background()
	if _, err := f.dir.CreateUser(ctx, directory.User{UID: "dora", GivenName: "Dora", Surname: "Explorer", DisplayName: "Dora the Explorer"}); err != nil {
		t.Fatal(err)
	}
	_, addr := startServer(t, f)
	c := connect(t, addr, readerDN, "reader-password")

	var buf bytes.Buffer
	if err := ldif.Export(ctx, f.dir, &buf, f.b.tree.layout, ldif.ExportOptions{}); err != nil {
		t.Fatal(err)
	}
	exported := map[string]map[string][]string{}
	r := ldif.NewReader(&buf)
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		attrs := map[string][]string{}
		for _, a := range e.Attrs {
			attrs[a.Type] = append(attrs[a.Type], a.Value)
		}
		exported[strings.ToLower(e.DN)] = attrs
	}

	skip := func(name string) bool {
		return strings.HasPrefix(name, "samba") || name == "memberOf" || strings.HasSuffix(name, "Timestamp")
	}
	for _, uid := range []string{"alice", "bob", "carol", "dora"} {
		dn := "uid=" + uid + "," + peopleDN
		want := exported[dn]
		if want == nil {
			t.Fatalf("the export has no %s", dn)
		}
		e := c.find(dn, ldap.ScopeBaseObject, "(objectClass=*)", "*", "entryUUID")[0]
		got := map[string][]string{}
		for _, a := range e.Attributes {
			if !skip(a.Name) {
				got[a.Name] = slices.DeleteFunc(slices.Clone(a.Values), func(v string) bool { return v == "sambaSamAccount" })
			}
		}
		for name := range want {
			if skip(name) {
				delete(want, name)
			}
		}
		if !maps.EqualFunc(got, want, slices.Equal) {
			t.Errorf("%s:\nsearch %v\nexport %v", uid, got, want)
		}
		for _, name := range []string{"displayName", "uidNumber", "gidNumber"} {
			if len(got[name]) != 1 {
				t.Errorf("%s has no %s: %v", uid, name, got)
			}
		}
		if disabled := uid == "carol"; !slices.Equal(got["shadowExpire"], map[bool][]string{true: {"1"}}[disabled]) {
			t.Errorf("%s (disabled %v): shadowExpire %v", uid, disabled, got["shadowExpire"])
		}
	}
}
