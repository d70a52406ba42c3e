package metrics

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
)

// value returns the value of the series name{labels} ("" for none), or -1
// when it is not there.
func value(t *testing.T, m *Metrics, name, labels string) float64 {
	t.Helper()
	mfs, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			var parts []string
			for _, l := range s.GetLabel() {
				parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			if strings.Join(parts, ",") != labels {
				continue
			}
			switch {
			case s.Counter != nil:
				return s.Counter.GetValue()
			case s.Gauge != nil:
				return s.Gauge.GetValue()
			case s.Histogram != nil:
				return float64(s.Histogram.GetSampleCount())
			}
		}
	}
	return -1
}

func TestNilMetricsAcceptsEveryCall(t *testing.T) {
	var m *Metrics
	m.LDAPOp("bind")(ldap.LDAPResultSuccess)
	m.LDAPConnOpened()
	m.LDAPConnClosed()
	m.LDAPRefused("busy")
	m.Audit(directory.AuditEvent{Kind: "login", Service: "web", Result: directory.ResultOK})
	m.StoreFile("x")
	m.LastBackup(nil)
	m.Certificate("ldaps", nil)
	var s directory.Store
	if m.Store(s) != s {
		t.Fatal("a nil Metrics must hand the store back unwrapped")
	}
	if rec := httptest.NewRecorder(); true {
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != 404 {
			t.Fatalf("nil Metrics served %d", rec.Code)
		}
	}
}

func TestLDAPOpLabels(t *testing.T) {
	clock := time.Unix(0, 0)
	m := New(Options{Now: func() time.Time { return clock }})
	done := m.LDAPOp("search")
	clock = clock.Add(30 * time.Millisecond)
	done(ldap.LDAPResultSizeLimitExceeded)
	m.LDAPOp("frobnicate")(999)
	if v := value(t, m, "atrium_ldap_operations_total", `op="search",result="size_limit_exceeded"`); v != 1 {
		t.Errorf("search count = %v", v)
	}
	if v := value(t, m, "atrium_ldap_operations_total", `op="other",result="other"`); v != 1 {
		t.Errorf("unknown operation and code count = %v, want them as other", v)
	}
	if v := value(t, m, "atrium_ldap_operation_duration_seconds", `op="search"`); v != 1 {
		t.Errorf("latency samples = %v", v)
	}
}

// TestAuditCounts feeds the audit events the directory and the front ends
// write and checks what each one counts.
func TestAuditCounts(t *testing.T) {
	m := New(Options{})
	for _, e := range []directory.AuditEvent{
		{Kind: "login", Subject: "alice", Service: "ldap", Result: directory.ResultOK},
		{Kind: "login", Subject: "uid=nobody", Service: "ldap", Result: directory.ResultNoSuchUser},
		{Kind: "login", Subject: "bob", Service: "web", Result: directory.ResultThrottled},
		{Kind: "assertion", Subject: "alice", Service: "saml:wiki", Result: directory.ResultOK},
		{Kind: "assertion", Subject: "bob", Service: "saml:wiki", Result: "denied"},
		{Kind: "assertion", Subject: "alice", Service: "oidc:grafana", Result: directory.ResultOK},
		{Kind: "token", Subject: "alice", Service: "oidc:grafana", Result: directory.ResultOK},
		{Kind: "mfa", Subject: "alice", Service: "web", Result: directory.ResultBadCode, Detail: "totp"},
		{Kind: "mfa", Subject: "alice", Service: "web", Result: directory.ResultOK, Detail: "passkey:Alice's YubiKey"},
		{Kind: "mfa", Subject: "alice", Service: "web", Result: directory.ResultEnrolled, Detail: "totp:phone"},
		{Kind: "mfa", Subject: "alice", Service: "push", Result: directory.ResultOK, Detail: "push sent to 1 phone(s); app wiki; transaction x"},
		{Kind: "mfa", Subject: "alice", Service: "push", Result: "push-failed", Detail: "no phone reached (1 enrolled); app wiki; transaction y"},
		{Kind: "mfa", Subject: "alice", Service: "push", Result: directory.ResultOK, Detail: "push answered: approved; app wiki; transaction x"},
	} {
		m.Audit(e)
	}
	for _, c := range []struct {
		name, labels string
		want         float64
	}{
		{"atrium_logins_total", `app="",result="ok",service="ldap"`, 1},
		{"atrium_logins_total", `app="",result="fail",service="ldap"`, 1},
		{"atrium_logins_total", `app="",result="throttled",service="web"`, 1},
		{"atrium_logins_total", `app="wiki",result="ok",service="saml"`, 1},
		{"atrium_logins_total", `app="wiki",result="fail",service="saml"`, 1},
		{"atrium_logins_total", `app="grafana",result="ok",service="oidc"`, 1},
		{"atrium_backoff_blocks_total", `service="web"`, 1},
		{"atrium_second_factor_total", `method="totp",result="fail"`, 1},
		{"atrium_second_factor_total", `method="totp",result="ok"`, 0},
		{"atrium_second_factor_total", `method="passkey",result="ok"`, 1},
		{"atrium_second_factor_total", `method="push",result="ok"`, 1},
		{"atrium_push_notifications_total", `result="sent"`, 1},
		{"atrium_push_notifications_total", `result="failed"`, 1},
	} {
		if v := value(t, m, c.name, c.labels); v != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.name, c.labels, v, c.want)
		}
	}
}

// TestAppLabelsBounded: however many app names arrive, the app label takes
// at most maxApps values.
func TestAppLabelsBounded(t *testing.T) {
	m := New(Options{})
	for i := range maxApps + 50 {
		m.Audit(directory.AuditEvent{Kind: "assertion", Service: fmt.Sprintf("saml:app%d", i), Result: directory.ResultOK})
	}
	mfs, _ := m.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "atrium_logins_total" && len(mf.GetMetric()) != 9+maxApps+1 {
			t.Fatalf("%d series, want 9 without an app, and %d apps and other", len(mf.GetMetric()), maxApps)
		}
	}
	if v := value(t, m, "atrium_logins_total", `app="other",result="ok",service="saml"`); v != 50 {
		t.Fatalf("other = %v, want 50", v)
	}
}
