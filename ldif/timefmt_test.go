package ldif

import (
	"testing"
	"time"
)

// TestGeneralizedTimeAsFormat: the export's own spelling of times is
// time.Format's with the layout it replaced.
func TestGeneralizedTimeAsFormat(t *testing.T) {
	base := time.Date(2026, 12, 4, 22, 31, 5, 0, time.UTC)
	for _, at := range []time.Time{
		{}, base, base.Add(123456789), base.Add(100 * time.Millisecond), base.Add(1), base.Add(120),
		base.In(time.FixedZone("x", -7*3600)), time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(999, 1, 1, 0, 0, 0, 5e8, time.UTC),
	} {
		want := at.UTC().Format("20060102150405.999999999Z")
		if got := generalizedTime(at); got != want {
			t.Errorf("%v: %s, want %s", at, got, want)
		}
	}
}
