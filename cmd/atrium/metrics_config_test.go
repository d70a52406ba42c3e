package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigMetricsAddr: metrics.addr comes from the file, then
// ATRIUM_METRICS_ADDR, then --metrics-addr; it is off by default, and an
// address that is not HOST:PORT is refused with the key's name.
func TestConfigMetricsAddr(t *testing.T) {
	t.Setenv("ATRIUM_METRICS_ADDR", "")
	os.Unsetenv("ATRIUM_METRICS_ADDR")
	file := filepath.Join(t.TempDir(), "atrium.yaml")
	if err := os.WriteFile(file, []byte("metrics:\n  addr: 127.0.0.1:9389\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err := loadConfig("", nil); err != nil || cfg.Metrics.Addr != "" || newMetrics(cfg) != nil {
		t.Fatalf("default metrics.addr %q (%v): want off", cfg.Metrics.Addr, err)
	}
	if cfg, err := loadConfig(file, nil); err != nil || cfg.Metrics.Addr != "127.0.0.1:9389" {
		t.Fatalf("from the file: %q (%v)", cfg.Metrics.Addr, err)
	}
	t.Setenv("ATRIUM_METRICS_ADDR", "127.0.0.1:9390")
	if cfg, err := loadConfig(file, nil); err != nil || cfg.Metrics.Addr != "127.0.0.1:9390" {
		t.Fatalf("from the environment: %q (%v)", cfg.Metrics.Addr, err)
	}
	cfg, err := loadConfig(file, map[string]string{"metrics-addr": "9391"})
	if err != nil || cfg.Metrics.Addr != "9391" {
		t.Fatalf("from the flag: %q (%v)", cfg.Metrics.Addr, err)
	}
	if problems := strings.Join(cfg.Validate(), "\n"); !strings.Contains(problems, `metrics.addr: "9391" is not HOST:PORT`) {
		t.Fatalf("a bad metrics.addr is not reported:\n%s", problems)
	}
}
