package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/atrium-dir/atrium/internal/atomicfile"
)

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	return n
}

// ensureSelfSignedTLS writes DATA/tls.crt and tls.key (ECDSA P-256,
// SHA-256 signature) unless they exist. The names cover the external URL's
// host, localhost and the loopback addresses. It is valid from an hour
// before now, for clocks a little behind, for five years.
func ensureSelfSignedTLS(dataDir, externalURL string, now time.Time) error {
	certPath, keyPath := filepath.Join(dataDir, "tls.crt"), filepath.Join(dataDir, "tls.key")
	if _, err := os.Stat(certPath); err == nil {
		return nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"Atrium"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(5, 0, 0),
		// Its own trust anchor: GnuTLS clients (ldapsearch, nslcd, SSSD) given
		// tls.crt as their CA file refuse a self-signed certificate that is
		// not marked as a CA.
		BasicConstraintsValid: true,
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if u, err := url.Parse(externalURL); err == nil && u.Hostname() != "" && u.Hostname() != "localhost" {
		if ip := net.ParseIP(u.Hostname()); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, u.Hostname())
			tmpl.Subject.CommonName = u.Hostname()
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	// The certificate is written last: while it is missing, a start killed
	// part way makes both again, replacing a key it left.
	if err := writePEM(keyPath, "PRIVATE KEY", keyDER, 0o600); err != nil {
		return err
	}
	return writePEM(certPath, "CERTIFICATE", der, 0o644)
}

// writePEM writes a whole file or none (see atomicfile.Write).
func writePEM(path, typ string, der []byte, mode os.FileMode) error {
	return atomicfile.Write(path, mode, func(w io.Writer) error {
		return pem.Encode(w, &pem.Block{Type: typ, Bytes: der})
	})
}

// newDomainSID returns a random domain SID, S-1-5-21-a-b-c.
func newDomainSID() string {
	var b [12]byte
	rand.Read(b[:])
	return fmt.Sprintf("S-1-5-21-%d-%d-%d", binary.BigEndian.Uint32(b[0:4]), binary.BigEndian.Uint32(b[4:8]), binary.BigEndian.Uint32(b[8:12]))
}
