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

func TestGeneralizedTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"20240131120000Z":           time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC),
		"202401311200Z":             time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC),
		"2024013112Z":               time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC),
		"20240131120000.5Z":         time.Date(2024, 1, 31, 12, 0, 0, 500000000, time.UTC),
		"20240131120000,123456789Z": time.Date(2024, 1, 31, 12, 0, 0, 123456789, time.UTC),
		"20240131140000+0200":       time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC),
		"20240131070000-0500":       time.Date(2024, 1, 31, 12, 0, 0, 0, time.UTC),
	} {
		got, err := parseGeneralizedTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parse %q = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "2024", "20240131120000", "20241331120000Z", "20240131120000.Z", "1202401311200Z", "20240131120000+2500", "x0240131120000Z"} {
		if _, err := parseGeneralizedTime(bad); err == nil {
			t.Errorf("parse %q accepted", bad)
		}
	}
	now := time.Date(2026, 11, 22, 12, 0, 0, 123456789, time.UTC)
	if got, err := parseGeneralizedTime(generalizedTime(now)); err != nil || !got.Equal(now) {
		t.Errorf("round trip of %v: %v, %v", now, got, err)
	}
}
