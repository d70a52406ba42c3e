package samlidp

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	xrv "github.com/mattermost/xml-roundtrip-validator"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/atrium-dir/atrium/directory"
)

// Limits on what an SP may send.
const (
	maxRequestXML = 64 << 10 // an AuthnRequest after inflating
	maxRelayState = 1024     // bytes; SAML says 80, real SPs send URLs
	// maxRequestID bounds the ID Atrium keeps (replay cache, parked
	// request) and echoes; real SPs send 20 to 50 characters.
	maxRequestID   = 256
	maxRequestSkew = 90 * time.Second
	maxRequestAge  = 5 * time.Minute
	// replayWindow outlives any IssueInstant still accepted.
	replayWindow = maxRequestAge + maxRequestSkew + time.Minute
)

// usedMessage tells the user a request was used before.
const usedMessage = "This sign-in request was already used. Go back to the application and start again."

// incoming is a checked AuthnRequest.
type incoming struct {
	app        directory.App
	req        saml.AuthnRequest
	acs        string
	relayState string
}

// refusal is a request Atrium will not serve. When the app and its ACS are
// known (acs is set), the SP also gets a SAML error Response.
type refusal struct {
	httpStatus int
	message    string // for the user
	samlStatus string
	detail     error // for the log
	in         *incoming
}

func (r *refusal) Error() string { return r.message + ": " + fmt.Sprint(r.detail) }

func refuse(status int, message string, detail error) *refusal {
	return &refusal{httpStatus: status, message: message, detail: detail}
}

// parseRequest reads and checks the AuthnRequest of an SSO request over
// the HTTP-Redirect (GET) or HTTP-POST binding.
func (i *IdP) parseRequest(r *http.Request) (*incoming, *refusal) {
	raw, relayState, redirectSig, bad := readBinding(r)
	if bad != nil {
		return nil, bad
	}
	if len(relayState) > maxRelayState {
		return nil, refuse(400, "The sign-in request is malformed (RelayState too long).", fmt.Errorf("RelayState of %d bytes", len(relayState)))
	}
	req, bad := decodeRequest(raw)
	if bad != nil {
		return nil, bad
	}
	issuer := strings.TrimSpace(req.Issuer.Value)
	app, err := i.dir.AppByEntityID(r.Context(), issuer)
	if errors.Is(err, directory.ErrNotFound) {
		return nil, refuse(400, "This application is not registered with Atrium. Ask your administrator to add it.", fmt.Errorf("unknown issuer %q", issuer))
	} else if err != nil {
		return nil, refuse(500, "Something went wrong on our side.", err)
	}
	acs, err := chooseACS(app, req)
	if err != nil {
		return nil, refuse(400, "The application asked to be answered at an address it is not registered with.", err)
	}
	in := &incoming{app: app, req: req, acs: acs, relayState: relayState}
	if status, message, detail := i.checkRequest(in, raw, redirectSig); status != "" {
		return nil, &refusal{httpStatus: 400, message: message, samlStatus: status, detail: detail, in: in}
	}
	return in, nil
}

// readBinding takes the request's XML, RelayState and (for the redirect
// binding) detached signature out of the HTTP request.
func readBinding(r *http.Request) (raw []byte, relayState string, sig *redirectSignature, bad *refusal) {
	switch r.Method {
	case http.MethodGet:
		q := r.URL.Query()
		b, err := base64.StdEncoding.DecodeString(q.Get("SAMLRequest"))
		if err != nil || len(b) == 0 {
			return nil, "", nil, refuse(400, "The sign-in request is missing or unreadable.", err)
		}
		if raw, err = inflate(b); err != nil {
			return nil, "", nil, refuse(400, "The sign-in request is unreadable or too large.", err)
		}
		return raw, q.Get("RelayState"), parseRedirectSignature(r.URL.RawQuery), nil
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			return nil, "", nil, refuse(400, "The sign-in request is too large or unreadable.", err)
		}
		b, err := base64.StdEncoding.DecodeString(r.PostForm.Get("SAMLRequest"))
		if err != nil || len(b) == 0 || len(b) > maxRequestXML {
			return nil, "", nil, refuse(400, "The sign-in request is missing, unreadable or too large.", err)
		}
		raw = b
		if !looksLikeXML(b) {
			// node-saml (and passport-saml) deflate POST requests by default,
			// against SAML Bindings 3.5.4; inflate them under the same cap.
			if raw, err = inflate(b); err != nil {
				return nil, "", nil, refuse(400, "The sign-in request is unreadable or too large.", err)
			}
		}
		return raw, r.PostForm.Get("RelayState"), nil, nil
	}
	return nil, "", nil, refuse(405, "Use GET or POST.", nil)
}

// decodeRequest checks that raw is one well-formed AuthnRequest that names
// its issuer.
func decodeRequest(raw []byte) (saml.AuthnRequest, *refusal) {
	var req saml.AuthnRequest
	if err := xrv.Validate(bytes.NewReader(raw)); err != nil {
		return req, refuse(400, "The sign-in request is not well-formed XML.", err)
	}
	if err := singleRoot(raw); err != nil {
		return req, refuse(400, "The sign-in request is not well-formed XML.", err)
	}
	if err := xml.Unmarshal(raw, &req); err != nil {
		return req, refuse(400, "The sign-in request is not a SAML AuthnRequest.", err)
	}
	if req.Issuer == nil || strings.TrimSpace(req.Issuer.Value) == "" {
		return req, refuse(400, "The sign-in request does not say which application sent it.", errors.New("AuthnRequest without Issuer"))
	}
	return req, nil
}

// checkRequest applies the rules an app's request must meet, and claims
// its ID against replays. A refusal gives the SAML status to answer the
// app with, the user's message and the detail for the log.
func (i *IdP) checkRequest(in *incoming, raw []byte, redirectSig *redirectSignature) (status, message string, detail error) {
	req, app := in.req, in.app
	if req.ProtocolBinding != "" && req.ProtocolBinding != saml.HTTPPostBinding {
		return saml.StatusRequester, "The application asked for a response binding Atrium does not support.", fmt.Errorf("ProtocolBinding %s", req.ProtocolBinding)
	}
	if app.VerifyRequests {
		if err := verifyRequestSignature(app, raw, redirectSig); err != nil {
			return saml.StatusRequestDenied, "The sign-in request's signature is missing or wrong.", err
		}
	}
	if req.Version != "2.0" {
		return saml.StatusVersionMismatch, "The sign-in request uses an unsupported SAML version.", fmt.Errorf("version %q", req.Version)
	}
	if req.Destination != "" && req.Destination != i.ssoURL() {
		return saml.StatusRequester, "The sign-in request was meant for another server.", fmt.Errorf("destination %q", req.Destination)
	}
	if len(req.ID) > maxRequestID {
		in.req.ID = "" // not echoed in the error Response either
		return saml.StatusRequester, "The sign-in request is malformed (ID too long).", fmt.Errorf("request ID of %d bytes", len(req.ID))
	}
	now := i.now()
	switch {
	case req.ID == "":
		return saml.StatusRequester, "The sign-in request has no ID.", nil
	case req.IssueInstant.IsZero():
		return saml.StatusRequester, "The sign-in request has no issue time.", nil
	case req.IssueInstant.After(now.Add(maxRequestSkew)):
		return saml.StatusRequester, "The sign-in request is dated in the future; check the clocks of the application and Atrium.", fmt.Errorf("IssueInstant %s", req.IssueInstant)
	case req.IssueInstant.Before(now.Add(-maxRequestAge)):
		return saml.StatusRequester, "The sign-in request has expired. Go back to the application and start again.", fmt.Errorf("IssueInstant %s", req.IssueInstant)
	}
	if !i.replays.claim(app.ID+"|"+req.ID, now, now.Add(replayWindow)) {
		return saml.StatusRequestDenied, usedMessage, fmt.Errorf("replayed request ID %q", req.ID)
	}
	return "", "", nil
}

// singleRoot checks that raw is one XML document: one root element, with
// nothing after it but comments, processing instructions and spaces.
// xml.Unmarshal reads the first element and ignores the rest, while a
// signature check may see another, so a second root is refused outright.
func singleRoot(raw []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	depth, roots := 0, 0
	for {
		tok, err := dec.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				if roots++; roots > 1 {
					return errors.New("more than one root element")
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return errors.New("text outside the root element")
			}
		}
	}
	if roots == 0 {
		return errors.New("no root element")
	}
	return nil
}

// chooseACS picks the registered ACS the request names, by URL or index,
// or the default one. A URL from the request is never used unless it is
// registered.
func chooseACS(app directory.App, req saml.AuthnRequest) (string, error) {
	if u := req.AssertionConsumerServiceURL; u != "" {
		for _, e := range app.ACS {
			if e.URL == u {
				return u, nil
			}
		}
		return "", fmt.Errorf("ACS URL %q is not registered for app %s", u, app.Name)
	}
	if idx := req.AssertionConsumerServiceIndex; idx != "" {
		for _, e := range app.ACS {
			if fmt.Sprint(e.Index) == idx {
				return e.URL, nil
			}
		}
		return "", fmt.Errorf("ACS index %s is not registered for app %s", idx, app.Name)
	}
	return app.ACS[0].URL, nil
}

// inflate undoes the Redirect binding's DEFLATE, refusing output beyond
// maxRequestXML (a deflate bomb).
func inflate(b []byte) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(b)), maxRequestXML+1))
	if err != nil {
		return nil, fmt.Errorf("inflate: %w", err)
	}
	if len(out) > maxRequestXML {
		return nil, fmt.Errorf("inflated request exceeds %d bytes", maxRequestXML)
	}
	return out, nil
}

// looksLikeXML reports whether b starts like an XML document rather than
// DEFLATE data.
func looksLikeXML(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	return len(b) > 0 && b[0] == '<'
}

// redirectSignature is the detached signature of the Redirect binding,
// with the exact octets it signs.
type redirectSignature struct {
	signed    []byte
	sigAlg    string
	signature []byte
}

// parseRedirectSignature rebuilds the signed octets from the raw query, as
// SAML Bindings 3.4.4.1 requires: the parameters as they were sent, in a
// fixed order.
func parseRedirectSignature(rawQuery string) *redirectSignature {
	raw := map[string]string{}
	for _, part := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if _, seen := raw[k]; !seen {
			raw[k] = v
		}
	}
	sigRaw, ok := raw["Signature"]
	if !ok {
		return nil
	}
	sig, err := url.QueryUnescape(sigRaw)
	if err != nil {
		return nil
	}
	sigBytes, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return nil
	}
	alg, _ := url.QueryUnescape(raw["SigAlg"])
	signed := "SAMLRequest=" + raw["SAMLRequest"]
	if rs, ok := raw["RelayState"]; ok {
		signed += "&RelayState=" + rs
	}
	signed += "&SigAlg=" + raw["SigAlg"]
	return &redirectSignature{signed: []byte(signed), sigAlg: alg, signature: sigBytes}
}

var redirectHashes = map[string]crypto.Hash{
	dsig.RSASHA256SignatureMethod: crypto.SHA256,
	dsig.RSASHA384SignatureMethod: crypto.SHA384,
	dsig.RSASHA512SignatureMethod: crypto.SHA512,
}

// verifyRequestSignature checks a signed AuthnRequest against the app's
// registered signing certificates: the detached signature of the Redirect
// binding, or the enveloped XML signature of the POST binding.
func verifyRequestSignature(app directory.App, raw []byte, redirect *redirectSignature) error {
	var certs []*x509.Certificate
	for _, p := range app.SigningCerts {
		c, err := parseCert([]byte(p))
		if err != nil {
			return fmt.Errorf("registered signing certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if redirect != nil {
		hash, ok := redirectHashes[redirect.sigAlg]
		if !ok {
			return fmt.Errorf("signature algorithm %q not accepted", redirect.sigAlg)
		}
		h := hash.New()
		h.Write(redirect.signed)
		digest := h.Sum(nil)
		for _, c := range certs {
			if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && rsa.VerifyPKCS1v15(pub, hash, digest, redirect.signature) == nil {
				return nil
			}
		}
		return errors.New("redirect signature does not verify")
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(raw); err != nil || doc.Root() == nil {
		return fmt.Errorf("parse request: %v", err)
	}
	vctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: certs})
	if _, err := vctx.Validate(doc.Root()); err != nil {
		return fmt.Errorf("XML signature: %w", err)
	}
	return nil
}

func (i *IdP) ssoURL() string { return i.signin.URL("/saml/sso") }
