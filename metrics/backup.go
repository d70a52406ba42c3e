package metrics

import (
	"crypto/x509"
	"time"
)

// LastBackup exports the time of the newest successful scheduled backup,
// as last reads it at each scrape (ok false: none yet).
func (m *Metrics) LastBackup(last func() (time.Time, bool)) {
	if m == nil {
		return
	}
	m.gaugeFunc("atrium_backup_last_success_timestamp_seconds", "When the newest successful scheduled backup was taken (Unix time).", nil,
		func() (float64, bool) {
			t, ok := last()
			return float64(t.Unix()), ok && !t.IsZero()
		})
}

// Certificate exports when the certificate used for use (ldaps, saml)
// expires, as cert reads it at each scrape, so that a renewed certificate
// shows without a restart.
func (m *Metrics) Certificate(use string, cert func() (*x509.Certificate, bool)) {
	if m == nil {
		return
	}
	m.gaugeFunc("atrium_certificate_expiry_timestamp_seconds", "When the certificate expires (Unix time), by use.", map[string]string{"use": use},
		func() (float64, bool) {
			c, ok := cert()
			if !ok || c == nil {
				return 0, false
			}
			return float64(c.NotAfter.Unix()), true
		})
}
