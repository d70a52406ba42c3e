package samlidp_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/samlidp"
)

// authnXML is a hand-written AuthnRequest; issuer "" leaves Issuer out.
func authnXML(id, issuer, acs string, issued time.Time, attrs string) []byte {
	iss := ""
	if issuer != "" {
		iss = `<saml:Issuer>` + issuer + `</saml:Issuer>`
	}
	acsAttr := ""
	if acs != "" {
		acsAttr = ` AssertionConsumerServiceURL="` + acs + `"`
	}
	return []byte(fmt.Sprintf(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="%s" Version="2.0" IssueInstant="%s"%s ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"%s>%s</samlp:AuthnRequest>`,
		id, issued.UTC().Format(time.RFC3339), acsAttr, attrs, iss))
}

// errorStatus returns the nested (or top) status code of a SAML error
// Response offered on p, or "" if p offers none.
func errorStatus(t *testing.T, p page) string {
	t.Helper()
	_, form := p.form()
	if form.Get("SAMLResponse") == "" {
		return ""
	}
	raw, _ := base64.StdEncoding.DecodeString(form.Get("SAMLResponse"))
	var r saml.Response
	if err := xml.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if r.Status.StatusCode.StatusCode != nil {
		return r.Status.StatusCode.StatusCode.Value
	}
	return r.Status.StatusCode.Value
}

func TestRefusedRequests(t *testing.T) {
	h := newHarness(t)
	cloudflareApp(h)
	now := h.clock.Now()
	sso := func(xml []byte, relay string) page { return newBrowser(t).get(redirectRequest(h.srv.URL, xml, relay)) }

	cases := []struct {
		name       string
		page       func() page
		status     int
		text       string
		samlStatus string // "" when no SAML error Response may be offered
	}{
		{"missing issuer", func() page { return sso(authnXML("id-1", "", "", now, ""), "") }, 400, "does not say which application", ""},
		{"unknown app", func() page { return sso(authnXML("id-2", "https://unknown.example/sp", "", now, ""), "") }, 400, "not registered", ""},
		{"ACS mismatch", func() page {
			return sso(authnXML("id-3", cloudflareACS, "https://evil.example/acs", now, ""), "")
		}, 400, "not registered with", ""},
		{"stale request", func() page {
			return sso(authnXML("id-4", cloudflareACS, cloudflareACS, now.Add(-10*time.Minute), ""), "")
		}, 400, "expired", saml.StatusRequester},
		{"future request", func() page {
			return sso(authnXML("id-5", cloudflareACS, cloudflareACS, now.Add(10*time.Minute), ""), "")
		}, 400, "future", saml.StatusRequester},
		{"oversized RelayState", func() page { return sso(authnXML("id-6", cloudflareACS, "", now, ""), strings.Repeat("r", 5000)) }, 400, "RelayState", ""},
		{"deflate bomb", func() page {
			var buf bytes.Buffer
			w, _ := flate.NewWriter(&buf, flate.BestCompression)
			w.Write(authnXML("id-7", cloudflareACS, "", now, ""))
			w.Write(bytes.Repeat([]byte(" "), 50<<20))
			w.Close()
			return newBrowser(t).get(h.srv.URL + "/saml/sso?" + url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}}.Encode())
		}, 400, "too large", ""},
		{"not base64", func() page { return newBrowser(t).get(h.srv.URL + "/saml/sso?SAMLRequest=%%%") }, 400, "unreadable", ""},
		{"not XML", func() page { return sso([]byte("<<<"), "") }, 400, "", ""},
		{"unsupported NameID policy", func() page {
			return sso(authnXML("id-8", cloudflareACS, "", now, "><samlp:NameIDPolicy Format=\"urn:example:odd\"/"), "")
		}, 400, "kind of user identifier", saml.StatusInvalidNameIDPolicy},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.page()
			if c.status != 0 && p.status != c.status {
				t.Errorf("status %d, want %d:\n%s", p.status, c.status, p.body)
			}
			if !strings.Contains(p.body, c.text) {
				t.Errorf("page lacks %q:\n%s", c.text, p.body)
			}
			if got := errorStatus(t, p); got != c.samlStatus {
				t.Errorf("SAML error status %q, want %q", got, c.samlStatus)
			}
		})
	}
}

func TestReplayedRequest(t *testing.T) {
	h := newHarness(t)
	cloudflareApp(h)
	u := redirectRequest(h.srv.URL, authnXML("id-replay", cloudflareACS, "", h.clock.Now(), ""), "")
	first := newBrowser(t).get(u)
	if !strings.Contains(first.body, `name="password"`) {
		t.Fatalf("first use should show the login page:\n%s", first.body)
	}
	second := newBrowser(t).get(u)
	if second.status != 400 || !strings.Contains(second.body, "already used") {
		t.Fatalf("replay: %d\n%s", second.status, second.body)
	}
	if got := errorStatus(t, second); got != saml.StatusRequestDenied {
		t.Errorf("replay error status %q", got)
	}
}

func TestRegistrationRefusesBadACS(t *testing.T) {
	md := func(acs string) []byte {
		return []byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.example/">
<SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="` + acs + `" index="0"/>
</SPSSODescriptor></EntityDescriptor>`)
	}
	for _, acs := range []string{"javascript:alert(1)", "http://sp.example/acs", "ftp://sp.example/acs", "https://user@sp.example/acs", "/relative"} {
		if _, err := samlidp.NewApp(samlidp.AppSpec{Name: "bad", Metadata: md(acs)}); err == nil {
			t.Errorf("ACS %q was accepted", acs)
		}
		if _, err := samlidp.NewApp(samlidp.AppSpec{Name: "bad", EntityID: "https://sp.example/", ACS: acs}); err == nil {
			t.Errorf("--acs %q was accepted", acs)
		}
	}
	for _, acs := range []string{"https://sp.example/acs", "http://127.0.0.1:8000/acs", "http://localhost/acs"} {
		if _, err := samlidp.NewApp(samlidp.AppSpec{Name: "good", Metadata: md(acs)}); err != nil {
			t.Errorf("ACS %q refused: %v", acs, err)
		}
	}
	if _, err := samlidp.NewApp(samlidp.AppSpec{Name: "cf", Preset: "cloudflare", EntityID: cloudflareACS, ACS: cloudflareACS, IdPInitiated: true}); err == nil {
		t.Error("cloudflare preset accepted IdP-initiated login")
	}
}

func TestLoginPageRefusals(t *testing.T) {
	h := newHarness(t)
	cloudflareApp(h)
	sp := h.sp(cloudflareACS, cloudflareACS)

	t.Run("missing CSRF token", func(t *testing.T) {
		b := newBrowser(t)
		login, _ := startRedirect(t, h, b, sp, "")
		_, form := login.form()
		form.Del("csrf")
		form.Set("username", "alice")
		form.Set("password", "alice-password")
		if p := b.post(h.srv.URL+"/login", form); p.status != 403 {
			t.Errorf("status %d without CSRF token", p.status)
		}
	})
	t.Run("flow from another browser", func(t *testing.T) {
		login, _ := startRedirect(t, h, newBrowser(t), sp, "")
		_, form := login.form()
		form.Set("username", "alice")
		form.Set("password", "alice-password")
		if p := newBrowser(t).post(h.srv.URL+"/login", form); p.status != 400 {
			t.Errorf("status %d for a flow bound to another browser", p.status)
		}
	})
	for _, c := range []struct{ name, user, pw string }{
		{"wrong password", "alice", "wrong-password"},
		{"unknown user", "nobody", "whatever-password"},
		{"disabled user", "carol", "carol-password"},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBrowser(t)
			login, _ := startRedirect(t, h, b, sp, "")
			p := b.signIn(h.srv.URL, login, c.user, c.pw)
			if p.status != 401 || !strings.Contains(p.body, "The username or password is incorrect.") || strings.Contains(p.body, "SAMLResponse") {
				t.Errorf("%d:\n%s", p.status, p.body)
			}
		})
	}
	t.Run("user outside the app's groups", func(t *testing.T) {
		b := newBrowser(t)
		login, _ := startRedirect(t, h, b, sp, "")
		p := b.signIn(h.srv.URL, login, "bob", "bob-password")
		if p.status != 403 || !strings.Contains(p.body, "You do not have access to cloudflare") || strings.Contains(p.body, "SAMLResponse") {
			t.Errorf("%d:\n%s", p.status, p.body)
		}
		h.dir.Close() // flush the audit log
		events, err := h.dir.AuditEvents(context.Background(), directory.AuditQuery{Subject: "bob"})
		must(t, err)
		found := false
		for _, e := range events {
			found = found || (e.Kind == "assertion" && e.Result == "denied" && e.Service == "saml:cloudflare")
		}
		if !found {
			t.Errorf("denied attempt not audited: %+v", events)
		}
	})
}

func TestSessions(t *testing.T) {
	h := newHarness(t)
	cloudflareApp(h)
	sp := h.sp(cloudflareACS, cloudflareACS)
	b := newBrowser(t)
	login, _ := startRedirect(t, h, b, sp, "")
	samlResponse(t, b.signIn(h.srv.URL, login, "alice", "alice-password"), cloudflareACS)

	again, _ := startRedirect(t, h, b, sp, "")
	samlResponse(t, again, cloudflareACS) // single sign-on: no login page

	t.Run("ForceAuthn", func(t *testing.T) {
		req, _ := sp.MakeAuthenticationRequest(h.srv.URL+"/saml/sso", saml.HTTPRedirectBinding, saml.HTTPPostBinding)
		yes := true
		req.ForceAuthn = &yes
		u, _ := req.Redirect("", sp)
		if p := b.get(u.String()); !strings.Contains(p.body, `name="password"`) {
			t.Errorf("ForceAuthn did not ask for the password:\n%s", p.body)
		}
	})
	t.Run("IsPassive", func(t *testing.T) {
		passive := func(b *browser) page {
			req, _ := sp.MakeAuthenticationRequest(h.srv.URL+"/saml/sso", saml.HTTPRedirectBinding, saml.HTTPPostBinding)
			yes := true
			req.IsPassive = &yes
			u, _ := req.Redirect("", sp)
			return b.get(u.String())
		}
		samlResponse(t, passive(b), cloudflareACS)
		p := passive(newBrowser(t))
		if got := errorStatus(t, p); got != saml.StatusNoPassive || strings.Contains(p.body, `name="password"`) {
			t.Errorf("IsPassive without a session: status %q\n%s", got, p.body)
		}
	})
	t.Run("password change ends sessions", func(t *testing.T) {
		h.clock.Advance(time.Second)
		must(t, h.dir.SetPassword(context.Background(), "alice", "alice-new-password"))
		p, _ := startRedirect(t, h, b, sp, "")
		if !strings.Contains(p.body, `name="password"`) {
			t.Errorf("session survived a password change:\n%s", p.body)
		}
	})
	t.Run("idle timeout", func(t *testing.T) {
		b := newBrowser(t)
		if p := b.signIn(h.srv.URL, b.get(h.srv.URL+"/"), "bob@example.com", "bob-password"); !strings.Contains(p.body, "Signed in as") {
			t.Fatalf("home:\n%s", p.body)
		}
		h.clock.Advance(31 * time.Minute)
		if p := b.get(h.srv.URL + "/"); !strings.Contains(p.body, `name="password"`) {
			t.Errorf("idle session still valid:\n%s", p.body)
		}
	})
	t.Run("absolute timeout", func(t *testing.T) {
		b := newBrowser(t)
		if p := b.signIn(h.srv.URL, b.get(h.srv.URL+"/"), "bob@example.com", "bob-password"); !strings.Contains(p.body, "Signed in as") {
			t.Fatalf("home:\n%s", p.body)
		}
		// Used every 20 minutes, the session stays until 12 hours after sign-in.
		for elapsed := 20 * time.Minute; elapsed < 12*time.Hour; elapsed += 20 * time.Minute {
			h.clock.Advance(20 * time.Minute)
			if p := b.get(h.srv.URL + "/"); !strings.Contains(p.body, "Signed in as") {
				t.Fatalf("active session ended after %s", elapsed)
			}
		}
		h.clock.Advance(20 * time.Minute)
		if p := b.get(h.srv.URL + "/"); !strings.Contains(p.body, `name="password"`) {
			t.Errorf("session still valid more than 12 hours after sign-in")
		}
	})
	t.Run("logout", func(t *testing.T) {
		b := newBrowser(t)
		home := b.get(h.srv.URL + "/")
		home = b.signIn(h.srv.URL, home, "bob", "bob-password")
		if !strings.Contains(home.body, "Signed in as") {
			t.Fatalf("home:\n%s", home.body)
		}
		_, form := home.form()
		if p := b.post(h.srv.URL+"/logout", form); !strings.Contains(p.body, "signed out") {
			t.Fatalf("logout:\n%s", p.body)
		}
		if p := b.get(h.srv.URL + "/"); !strings.Contains(p.body, `name="password"`) {
			t.Errorf("still signed in after logout")
		}
	})
}

func TestIdPInitiated(t *testing.T) {
	h := newHarness(t)
	const acs = "http://127.0.0.1:9/acs"
	h.addApp(samlidp.AppSpec{Name: "wiki", EntityID: "https://wiki.example/", ACS: acs, IdPInitiated: true})
	cloudflareApp(h)
	b := newBrowser(t)
	raw, _ := samlResponse(t, b.signIn(h.srv.URL, b.get(h.srv.URL+"/saml/launch/wiki"), "alice", "alice-password"), acs)
	if !bytes.Contains(raw, []byte("alice@example.com")) || bytes.Contains(raw, []byte("InResponseTo")) {
		t.Errorf("IdP-initiated response:\n%s", raw)
	}
	if p := b.get(h.srv.URL + "/saml/launch/cloudflare"); p.status != 404 {
		t.Errorf("launch of an app without IdP-initiated login: %d", p.status)
	}
}
