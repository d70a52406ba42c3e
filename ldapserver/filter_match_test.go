package ldapserver

import (
	"testing"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/ldif"
)

// Filters read GeneralizedTime with the LDIF importer's parser, so a value
// that import refuses never matches in a search (it is Undefined), and one
// that import accepts means the same instant. Over TCP, as a client sees
// it. The first strings are where the two parsers used to disagree.
func TestGeneralizedTimeFiltersAgreeWithImport(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	c := connect(t, addr, readerDN, "reader-password")
	for _, tc := range []struct {
		value        string
		valid, match bool
	}{
		{" 20000101000000Z", false, false},    // spaces: the old filter parser trimmed them
		{"20000101000000+2360", false, false}, // offset past 23:59: the old filter parser wrapped it
		{"2000010100.5Z", true, true},         // a fraction of an hour: both old parsers refused it
		{"20000101000000+02", true, true},     // an offset in hours: both old parsers refused it
		{"20000101000000Z", true, true},
		{"200001010000-0130", true, true},
		{"20000101000000", false, false},
		{"99991231235959.999Z", true, false}, // after alice was created
	} {
		if _, err := ldif.ParseGeneralizedTime(tc.value); (err == nil) != tc.valid {
			t.Errorf("import reads %q: %v", tc.value, err)
		}
		flt := "(&(uid=alice)(createTimestamp>=" + tc.value + "))"
		if got := len(c.find(base, ldap.ScopeWholeSubtree, flt)) == 1; got != tc.match {
			t.Errorf("%s matched alice: %v, want %v", flt, got, tc.match)
		}
	}
}
