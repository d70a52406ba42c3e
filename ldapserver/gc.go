package ldapserver

import (
	"runtime/debug"
	"strconv"
)

// GCPercent is the collector setting (GOGC) a process serving LDAP runs
// with unless the admin sets GOGC. A search leaves about 8 KB of garbage,
// and a collection cycle slows the requests it overlaps by milliseconds
// (on one core it takes a quarter of it to mark, plus assists), which is
// what sets the tail of a busy server. With the live heap of a large
// directory (about 40 MB, mostly the decoded large groups) GOGC 100 had
// the benchmark server collect every 22 MiB allocated, three to four times
// a second at 10,000 searches a second; at 200 it collects every 49 MiB,
// half as often, so half as many requests meet a cycle, for a heap that
// peaks at three times the live heap instead of twice (tens of MB).
const GCPercent = 200

// SetGCDefault applies GCPercent unless getenv("GOGC") is set, and returns
// the setting in force.
func SetGCDefault(getenv func(string) string) int {
	if v := getenv("GOGC"); v != "" {
		if v == "off" {
			return -1
		}
		n, _ := strconv.Atoi(v)
		return n
	}
	debug.SetGCPercent(GCPercent)
	return GCPercent
}
