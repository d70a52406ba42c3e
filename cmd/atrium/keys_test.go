package main

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// The self-signed certificate is dated by the clock it is given (the
// directory's), not by the machine's.
func TestSelfSignedCertificateFollowsTheClock(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)
	if err := ensureSelfSignedTLS(dir, "https://nas.example.org", now); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "tls.crt"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(raw)
	if block == nil {
		t.Fatal("tls.crt holds no PEM block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotBefore.Equal(now.Add(-time.Hour)) || !cert.NotAfter.Equal(now.AddDate(5, 0, 0)) {
		t.Errorf("valid %v to %v, want an hour before %v to five years after", cert.NotBefore, cert.NotAfter, now)
	}
	if cert.Subject.CommonName != "nas.example.org" {
		t.Errorf("common name %q", cert.Subject.CommonName)
	}
}
