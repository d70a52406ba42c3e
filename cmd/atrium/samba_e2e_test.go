package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"
)

// TestServeSambaDomains: with Samba on, atrium serve publishes a domain
// entry for the workgroup and one for each NAS in samba.netbios_names, all
// with the one domain SID and the lockout policy of the config file.
func TestServeSambaDomains(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "atrium.yaml")
	if err := os.WriteFile(file, []byte(`samba:
  enabled: true
  domain: example
  netbios_names: [diskstation, NAS2]
  lockout_threshold: 5
  lockout_duration: 30m
  lockout_window: 90s
`), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, filepath.Join(dir, "data"), testEnv(), nil, "--config", file)
	m := regexp.MustCompile(`password=([A-Za-z0-9]+)`).FindStringSubmatch(srv.log.String())
	if m == nil {
		t.Fatalf("no first password in the log:\n%s", srv.log)
	}
	conn, err := ldap.DialURL("ldap://" + srv.ldapAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(userDN("admin"), m[1]); err != nil {
		t.Fatal(err)
	}
	res, err := conn.Search(ldap.NewSearchRequest(baseDN, ldap.ScopeSingleLevel, ldap.NeverDerefAliases, 0, 5, false,
		"(objectClass=sambaDomain)", []string{"sambaDomainName", "sambaSID", "sambaLockoutThreshold", "sambaLockoutDuration", "sambaLockoutObservationWindow"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	sid := ""
	for _, e := range res.Entries {
		names[e.GetAttributeValue("sambaDomainName")] = true
		if sid == "" {
			sid = e.GetAttributeValue("sambaSID")
		}
		if e.GetAttributeValue("sambaSID") != sid || sid == "" || e.GetAttributeValue("sambaLockoutThreshold") != "5" ||
			e.GetAttributeValue("sambaLockoutDuration") != "30" || e.GetAttributeValue("sambaLockoutObservationWindow") != "2" {
			t.Errorf("%s: %v", e.DN, e.Attributes)
		}
	}
	if len(res.Entries) != 3 || !names["EXAMPLE"] || !names["DISKSTATION"] || !names["NAS2"] {
		t.Errorf("domain entries: %v", names)
	}
	srv.stop(t)
}
