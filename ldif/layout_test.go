package ldif

import (
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

func TestLayout(t *testing.T) {
	l, err := NewLayout("DC=Example, DC=com")
	must(t, err)
	for got, want := range map[string]string{
		l.Base:                  "dc=Example,dc=com",
		l.PeopleDN():            "ou=people,dc=Example,dc=com",
		l.GroupsDN():            "ou=groups,dc=Example,dc=com",
		l.ServicesDN():          "ou=services,dc=Example,dc=com",
		l.UserDN("alice"):       "uid=alice,ou=people,dc=Example,dc=com",
		l.GroupDN("dev team"):   "cn=dev team,ou=groups,dc=Example,dc=com",
		l.BindAccountDN("nas"):  "cn=nas,ou=services,dc=Example,dc=com",
		l.GroupDN("a,b+c"):      `cn=a\,b\+c,ou=groups,dc=Example,dc=com`,
		l.BindAccountDN(" #x "): `cn=\ #x\ ,ou=services,dc=Example,dc=com`,
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	for _, bad := range []string{"", "dc=example,,dc=com", "no equals", "dc=a\\"} {
		if _, err := NewLayout(bad); err == nil {
			t.Errorf("NewLayout(%q) accepted", bad)
		}
	}
}

func TestCanonicalDN(t *testing.T) {
	for in, want := range map[string]string{
		"UID=Alice , OU=People,DC=example,DC=com": "uid=Alice,ou=People,dc=example,dc=com",
		`cn=x\2cy,dc=com`:                         `cn=x\,y,dc=com`,
		"uid=a+cn=b,dc=com":                       "cn=b+uid=a,dc=com",
		`cn=Zo\c3\ab,dc=com`:                      "cn=Zoë,dc=com",
		"2.5.4.3=x,dc=com":                        "2.5.4.3=x,dc=com",
	} {
		got, err := CanonicalDN(in)
		if err != nil || got != want {
			t.Errorf("CanonicalDN(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestEscapeDNValue: every value comes back unchanged through a DN parser.
func TestEscapeDNValue(t *testing.T) {
	for _, v := range []string{"plain", " lead", "#hash", "trail ", `a"b+c,d;e<f>g\h`, "Zoë", "nul\x00", "line\nbreak", "\xff\xfe", "a=b", ""} {
		dn, err := ldap.ParseDN("cn=" + EscapeDNValue(v) + ",dc=com")
		if err != nil {
			t.Errorf("%q escaped as %q does not parse: %v", v, EscapeDNValue(v), err)
			continue
		}
		if got := dn.RDNs[0].Attributes[0].Value; got != v {
			t.Errorf("%q escaped as %q parses as %q", v, EscapeDNValue(v), got)
		}
	}
}

// generalizedTimeCases are the GeneralizedTime strings the LDIF importer
// and the LDAP server's filters must agree on. oldLDIF and oldFilter record
// what the two parsers did before there was one (the LDIF one strict, the
// filter one loose): where they differ, a filter matched a value import
// refused, or the reverse. want is the zero time for a refused string.
var generalizedTimeCases = []struct {
	in                 string
	want               time.Time
	oldLDIF, oldFilter bool
}{
	{"20240131120000Z", time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC), true, true},
	{"202401311200Z", time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC), true, true},
	{"2024013112Z", time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC), true, true},
	{"20240131120000.5Z", time.Date(2024, 1, 31, 12, 0, 0, 500000000, time.UTC), true, true},
	{"20240131120000,123456789Z", time.Date(2024, 1, 31, 12, 0, 0, 123456789, time.UTC), true, true},
	{"20240131140000+0200", time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC), true, true},
	{"20240131070000-0500", time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC), true, true},
	{"20240131120000-0000", time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC), true, true},
	// Where the old parsers disagreed.
	{" 20240131120000Z", time.Time{}, false, true},
	{"20240131120000Z\n", time.Time{}, false, true},
	{"20240131120000+2400", time.Time{}, false, true},
	{"20240131120000+2360", time.Time{}, false, true},
	{"20240131120000.1234567891Z", time.Date(2024, 1, 31, 12, 0, 0, 123456789, time.UTC), false, true},
	// RFC 4517 allows these; both old parsers refused them.
	{"2024013112.5Z", time.Date(2024, 1, 31, 12, 30, 0, 0, time.UTC), false, false},
	{"202401311230,25Z", time.Date(2024, 1, 31, 12, 30, 15, 0, time.UTC), false, false},
	{"20240131140000+02", time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC), false, false},
	{"20240131103000-0130", time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC), true, true},
	// Refused by all.
	{"", time.Time{}, false, false},
	{"2024", time.Time{}, false, false},
	{"20240131120000", time.Time{}, false, false},
	{"20241331120000Z", time.Time{}, false, false},
	{"20240230120000Z", time.Time{}, false, false},
	{"20240131120060Z", time.Time{}, false, false}, // leap second
	{"20240131120000.Z", time.Time{}, false, false},
	{"20240131120000z", time.Time{}, false, false},
	{"20240131120000Zjunk", time.Time{}, false, false},
	{"20240131120000+020", time.Time{}, false, false},
	{"1202401311200Z", time.Time{}, false, false},
	{"x0240131120000Z", time.Time{}, false, false},
}

func TestGeneralizedTime(t *testing.T) {
	for _, c := range generalizedTimeCases {
		got, err := ParseGeneralizedTime(c.in)
		switch {
		case c.want.IsZero() && err == nil:
			t.Errorf("parse %q = %v, want refused", c.in, got)
		case !c.want.IsZero() && (err != nil || !got.Equal(c.want) || got.Location() != time.UTC):
			t.Errorf("parse %q = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 123456789, time.UTC)
	if got, err := ParseGeneralizedTime(generalizedTime(now)); err != nil || !got.Equal(now) {
		t.Errorf("round trip of %v: %v, %v", now, got, err)
	}
}
