package ldapserver

import (
	"runtime/debug"
	"testing"
)

// A server runs the collector at GCPercent unless the admin set GOGC.
func TestSetGCDefault(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	if got := SetGCDefault(func(string) string { return "" }); got != GCPercent || debug.SetGCPercent(100) != GCPercent {
		t.Fatalf("without GOGC: %d, want %d", got, GCPercent)
	}
	if got := SetGCDefault(func(string) string { return "50" }); got != 50 || debug.SetGCPercent(100) != 100 {
		t.Fatalf("with GOGC=50 the setting changed: %d", got)
	}
	if got := SetGCDefault(func(string) string { return "off" }); got != -1 {
		t.Fatalf("with GOGC=off: %d", got)
	}
}
