package console

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// The audit log page: filters by user, app, front end, result and time, the
// newest events first, paged backwards in time; and the same selection as
// CSV or JSON.

const (
	auditPerPage = 100
	// auditExportMax bounds one export.
	auditExportMax = 100000
	timeLayout     = "2006-01-02T15:04"
)

type auditView struct {
	User, App, Service, Result, Since, Until string
	Events                                   []directory.AuditEvent
	NextURL, CSVURL, JSONURL                 string
}

func (c *Console) auditLog(w http.ResponseWriter, r *http.Request) {
	a, ok := c.admin(w, r)
	if !ok {
		return
	}
	in := r.URL.Query()
	v := auditView{User: in.Get("user"), App: in.Get("app"), Service: in.Get("service"), Result: in.Get("result"), Since: in.Get("since"), Until: in.Get("until")}
	q := directory.AuditQuery{Subject: strings.TrimSpace(v.User), App: strings.TrimSpace(v.App), Service: v.Service, Result: v.Result, Limit: auditPerPage}
	var problem string
	var err error
	if q.Since, err = parseTime(v.Since); err != nil {
		problem = "From: " + err.Error()
	}
	if q.Until, err = parseTime(v.Until); err != nil {
		problem = "Until: " + err.Error()
	}
	// A later page: the events up to the oldest one shown, less those of
	// its time already shown.
	if before, err := time.Parse(time.RFC3339Nano, in.Get("before")); err == nil {
		q.Until = before.Add(time.Nanosecond)
		q.Skip, _ = strconv.Atoi(in.Get("skip"))
	}
	format := in.Get("format")
	if format != "" {
		q.Limit = auditExportMax
	}
	events, err := c.dir.AuditEvents(r.Context(), q)
	if err != nil {
		c.fail(w, "audit log", err)
		return
	}
	slices.Reverse(events)
	switch format {
	case "csv":
		writeCSV(w, events)
		return
	case "json":
		w.Header().Set("Content-Disposition", `attachment; filename="atrium-audit.json"`)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(events)
		return
	}
	v.Events = events
	filters := url.Values{"user": {v.User}, "app": {v.App}, "service": {v.Service}, "result": {v.Result}, "since": {v.Since}, "until": {v.Until}}
	if len(events) == auditPerPage {
		v.NextURL = nextAuditPage(filters, events, q)
	}
	export := cloneValues(filters)
	export.Set("format", "csv")
	v.CSVURL = "/admin/audit?" + export.Encode()
	export.Set("format", "json")
	v.JSONURL = "/admin/audit?" + export.Encode()
	c.show(w, http.StatusOK, "audit.html", "Audit log", view{Admin: a, Section: "audit", Error: problem, Data: v})
}

// nextAuditPage is the address of the page after events, shown for q:
// the events up to the oldest one shown, less those of its time shown
// already, so that events of one instant are neither lost nor repeated.
func nextAuditPage(filters url.Values, events []directory.AuditEvent, q directory.AuditQuery) string {
	oldest := events[len(events)-1].Time
	same := 0
	for _, e := range events {
		if e.Time.Equal(oldest) {
			same++
		}
	}
	if q.Skip > 0 && oldest.Equal(q.Until.Add(-time.Nanosecond)) {
		same += q.Skip
	}
	next := cloneValues(filters)
	next.Set("before", oldest.Format(time.RFC3339Nano))
	next.Set("skip", strconv.Itoa(same))
	return "/admin/audit?" + next.Encode()
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		if len(vs) > 0 && vs[0] != "" {
			out[k] = slices.Clone(vs)
		}
	}
	return out
}

// parseTime reads a filter's time, as a date-time input sends it (UTC), or
// a date alone.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(timeLayout, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, errBadTime
	}
	return t, nil
}

var errBadTime = errors.New("write a time as 2026-12-04T21:30 (UTC) or a date as 2026-12-04")

func writeCSV(w http.ResponseWriter, events []directory.AuditEvent) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="atrium-audit.csv"`)
	out := csv.NewWriter(w)
	_ = out.Write([]string{"time", "kind", "subject", "actor", "remote", "service", "result", "detail"})
	for _, e := range events {
		_ = out.Write([]string{e.Time.Format(time.RFC3339Nano), e.Kind, csvSafe(e.Subject), csvSafe(e.Actor), e.Remote, e.Service, e.Result, csvSafe(e.Detail)})
	}
	out.Flush()
}

// csvSafe keeps a spreadsheet from reading a name typed by a client as a
// formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
