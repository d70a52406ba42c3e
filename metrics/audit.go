package metrics

import (
	"strings"

	"github.com/atrium-dir/atrium/directory"
)

// services are the service label values; anything else is "other".
var services = map[string]bool{"ldap": true, "web": true, "smb": true, "saml": true, "oidc": true, "push": true}

// factorMethods are the method label values of second-factor checks.
var factorMethods = map[string]bool{"totp": true, "recovery": true, "passkey": true, "push": true}

// Audit counts what an audit event tells about logins, second factors,
// backoff and push notifications. Every login and second-factor check in
// Atrium is audited by the directory or the front end that made it, so
// hooking the audit log (directory.Options.OnAudit) counts them all in
// one place. Subjects and addresses are never used as labels.
func (m *Metrics) Audit(e directory.AuditEvent) {
	if m == nil {
		return
	}
	service, app, _ := strings.Cut(e.Service, ":")
	if !services[service] {
		service = "other"
	}
	if e.Result == directory.ResultThrottled {
		m.blocks.WithLabelValues(service).Inc()
	}
	switch e.Kind {
	case "login":
		if e.Result != directory.ResultUnlocked {
			m.logins.WithLabelValues(service, "", outcome(e.Result)).Inc()
		}
	case "assertion":
		m.logins.WithLabelValues(service, m.app(app), outcome(e.Result)).Inc()
	case "mfa":
		m.mfa(service, e)
	}
}

// mfa counts a second-factor event: a check's result, or a push request
// sent or failed. Enrolments, removals and resets are not checks.
func (m *Metrics) mfa(service string, e directory.AuditEvent) {
	switch e.Result {
	case directory.ResultEnrolled, directory.ResultRemoved, directory.ResultReset:
		return
	}
	if service == "push" {
		switch {
		case e.Result == "push-failed":
			m.pushes.WithLabelValues("failed").Inc()
		case strings.HasPrefix(e.Detail, "push sent"):
			m.pushes.WithLabelValues("sent").Inc()
		case strings.HasPrefix(e.Detail, "push answered"), e.Result != directory.ResultOK:
			m.factors.WithLabelValues("push", outcome(e.Result)).Inc()
		}
		return
	}
	method, _, _ := strings.Cut(e.Detail, ":") // "passkey:<the user's name for it>"
	if !factorMethods[method] {
		return // totp-enroll: the code that proves an app before it is added
	}
	m.factors.WithLabelValues(method, outcome(e.Result)).Inc()
}

// outcome folds an audit result into ok, throttled or fail.
func outcome(result string) string {
	switch result {
	case directory.ResultOK:
		return "ok"
	case directory.ResultThrottled:
		return "throttled"
	}
	return "fail"
}

// app returns name as a label value while fewer than maxApps names have
// been seen, and "other" after that.
func (m *Metrics) app(name string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.apps[name] {
		return name
	}
	if len(m.apps) >= maxApps {
		return "other"
	}
	m.apps[name] = true
	return name
}
