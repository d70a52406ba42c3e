package main

import "testing"

// The configuration shipped for the systemd unit must pass config check.
func TestPackagedConfigIsValid(t *testing.T) {
	cfg, err := loadConfig("../../packaging/atrium.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if problems := cfg.Validate(); len(problems) > 0 {
		t.Fatalf("packaging/atrium.yaml: %v", problems)
	}
	if cfg.Data != "/var/lib/atrium" || cfg.Backup.Dir != "/var/lib/atrium/backups" {
		t.Errorf("packaging/atrium.yaml does not keep data and backups in the unit's StateDirectory: %+v", cfg)
	}
}
