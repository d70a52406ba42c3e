package ldapserver

import (
	"math"
	"runtime/debug"
	"testing"
)

// A server runs the collector at GCPercent and GCMemoryLimit unless the
// admin set GOGC or GOMEMLIMIT.
func TestSetGCDefault(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	SetGCDefault(func(string) string { return "" })
	if p, l := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64); p != GCPercent || l != GCMemoryLimit {
		t.Fatalf("without GOGC and GOMEMLIMIT: GOGC %d, limit %d", p, l)
	}
	SetGCDefault(func(name string) string { return map[string]string{"GOGC": "50", "GOMEMLIMIT": "1GiB"}[name] })
	if p, l := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64); p != 100 || l != math.MaxInt64 {
		t.Fatalf("the admin's settings were changed: GOGC %d, limit %d", p, l)
	}
}
