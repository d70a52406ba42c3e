package ldapserver

import "runtime/debug"

// The collector settings a process serving LDAP runs with, unless the
// admin sets GOGC or GOMEMLIMIT.
//
// A search leaves about 8 KB of garbage, and a collection cycle slows the
// requests it overlaps by milliseconds (on one core it takes a quarter of
// it to mark, plus assists), which is what sets the tail of a busy server.
// With the live heap of a large directory (40 to 90 MB, mostly the decoded
// large groups) GOGC 100 had the benchmark server collect every 22 MiB
// allocated, three to four times a second at 10,000 searches a second; at
// 200 it collects every 49 MiB or more, half as often, so half as many
// requests meet a cycle. Left alone, that heap would peak at three times
// the live heap (270 MB measured) instead of twice; the soft limit keeps
// it near GCMemoryLimit, collecting more often only when it gets there. A
// live heap past the limit (an import of millions of entries through the
// admin socket) makes the collector work harder, at most half the CPU as
// the runtime caps it: set GOMEMLIMIT higher for such directories.
const (
	GCPercent     = 200
	GCMemoryLimit = 256 << 20
)

// SetGCDefault applies GCPercent unless getenv("GOGC") is set, and
// GCMemoryLimit unless getenv("GOMEMLIMIT") is.
func SetGCDefault(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(GCPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(GCMemoryLimit)
	}
}
