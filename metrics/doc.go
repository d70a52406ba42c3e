// Package metrics owns Atrium's Prometheus registry and the metrics in it,
// served at /metrics on a listener of its own. Front ends report through
// typed methods whose label values come from bounded sets (operation
// names, result codes, registered apps, second-factor methods), never
// from user names or addresses, so a scan of random names cannot grow the
// number of series. A nil *Metrics accepts every call and records nothing,
// so front ends built without metrics (in tests) need no checks.
package metrics
