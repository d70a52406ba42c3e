package clients

import "testing"

// TestServerSettings: Atrium's default configuration gives the settings the
// committed docs show, and a production one its own host and ports.
func TestServerSettings(t *testing.T) {
	s, err := ServerSettings("dc=example,dc=com", ":3389", ":6636", "http://localhost:8080")
	if err != nil || s != DefaultSettings() {
		t.Errorf("defaults: %+v %v", s, err)
	}
	s, err = ServerSettings("dc=corp,dc=test", "0.0.0.0:389", "[::]:636", "https://sso.corp.test")
	if err != nil || s.Host != "sso.corp.test" || s.LDAPPort != 389 || s.LDAPSPort != 636 || s.BaseDN != "dc=corp,dc=test" {
		t.Errorf("production: %+v %v", s, err)
	}
	for _, bad := range [][3]string{{":x", ":636", "http://a"}, {":389", "636", "http://a"}, {":389", ":636", "not a url"}} {
		if _, err := ServerSettings("dc=a", bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
