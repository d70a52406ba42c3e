package samlidp_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/xml"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/atrium-dir/atrium/samlidp"
)

// signingSP is an SP that signs its AuthnRequests with its own key.
func signingSP(t *testing.T, h *harness) *saml.ServiceProvider {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sp"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	cert, _ := x509.ParseCertificate(der)
	sp := h.sp("https://signed.example/saml", "https://signed.example/saml/acs")
	sp.Key, sp.Certificate, sp.SignatureMethod = key, cert, dsig.RSASHA256SignatureMethod
	md, err := xml.Marshal(sp.Metadata())
	must(t, err)
	app := h.addApp(samlidp.AppSpec{Name: "signed", Metadata: md, VerifyRequests: true})
	if !app.VerifyRequests || len(app.SigningCerts) == 0 {
		t.Fatalf("app registered without request verification: %+v", app)
	}
	return sp
}

func TestVerifiedRequests(t *testing.T) {
	h := newHarness(t)
	sp := signingSP(t, h)
	isLogin := func(p page) bool { return strings.Contains(p.body, `name="password"`) }

	t.Run("signed redirect", func(t *testing.T) {
		u, err := sp.MakeRedirectAuthenticationRequest("relay")
		must(t, err)
		if p := newBrowser(t).get(u.String()); !isLogin(p) {
			t.Fatalf("a correctly signed request was refused:\n%s", p.body)
		}
	})
	t.Run("signed post", func(t *testing.T) {
		if p, _ := startPost(t, h, newBrowser(t), sp, "relay"); !isLogin(p) {
			t.Fatalf("a correctly signed POST request was refused:\n%s", p.body)
		}
	})
	t.Run("tampered redirect", func(t *testing.T) {
		u, err := sp.MakeRedirectAuthenticationRequest("relay")
		must(t, err)
		q := u.Query()
		q.Set("RelayState", "changed")
		u.RawQuery = q.Encode()
		p := newBrowser(t).get(u.String())
		if isLogin(p) || errorStatus(t, p) != saml.StatusRequestDenied {
			t.Fatalf("a tampered request was accepted:\n%s", p.body)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		unsigned := *sp
		unsigned.SignatureMethod = ""
		u, err := unsigned.MakeRedirectAuthenticationRequest("")
		must(t, err)
		p := newBrowser(t).get(u.String())
		if isLogin(p) || errorStatus(t, p) != saml.StatusRequestDenied {
			t.Fatalf("an unsigned request was accepted:\n%s", p.body)
		}
	})
}
