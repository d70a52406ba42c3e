package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/samltest"
	"github.com/atrium-dir/atrium/samlidp"
)

// Each change on the Apps page goes through the same operations as
// `atrium app add|delete` and `atrium saml rotate-cert`, and is audited
// with the admin's name and address.
func TestAppChangesAudited(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	changes := []struct {
		from, path string
		form       url.Values
		subject    string
		detail     string
	}{
		{"/admin/apps/new", "/admin/apps", url.Values{"name": {"wiki"}, "preset": {"generic"}, "entity_id": {"https://wiki.example.com/sp"},
			"acs": {"https://wiki.example.com/acs"}, "groups": {"ops"}, "nameid": {"persistent"}, "attributes": {"dept=sn"}, "require_mfa": {"on"}}, "wiki", "app add"},
		{"/admin/apps", "/admin/saml/rotate", url.Values{"step": {"stage"}}, "saml", "saml rotate-cert stage"},
		{"/admin/apps/wiki", "/admin/apps/wiki/use-next-cert", nil, "wiki", "saml rotate-cert --app"},
		{"/admin/apps", "/admin/saml/rotate", url.Values{"step": {"switch"}}, "saml", "saml rotate-cert switch"},
		{"/admin/apps", "/admin/saml/rotate", url.Values{"step": {"finish"}}, "saml", "saml rotate-cert finish"},
		{"/admin/apps/wiki/delete", "/admin/apps/wiki/delete", url.Values{"confirm": {"wiki"}}, "wiki", "app delete"},
	}
	ctx := context.Background()
	for _, c := range changes {
		resp, body := admin.submit(c.from, c.path, c.form)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%.600s", c.detail, resp.StatusCode, body)
		}
		switch _, md := admin.get("/saml/metadata"); c.detail {
		case "saml rotate-cert stage", "saml rotate-cert switch":
			if n := len(certEndRE.FindAllString(md, -1)); n != 2 {
				t.Errorf("after %s the metadata lists %d certificates, want 2", c.detail, n)
			}
		case "saml rotate-cert finish":
			if n := len(certEndRE.FindAllString(md, -1)); n != 1 {
				t.Errorf("after the rotation the metadata lists %d certificates, want 1", n)
			}
		case "saml rotate-cert --app":
			if app, _ := st.d.App(ctx, "wiki"); !app.NextCert {
				t.Error("the app does not sign with the staged certificate")
			}
		}
		if c.detail == "app add" {
			app, err := st.d.App(ctx, "wiki")
			if err != nil || app.NameID != "persistent" || !app.RequireMFA || !slices.Equal(app.Groups, []string{"ops"}) ||
				!slices.Contains(app.Attributes, directory.AppAttribute{Name: "dept", Source: "sn"}) {
				t.Errorf("the app as stored: %+v, %v", app, err)
			}
		}
	}
	if _, err := st.d.App(ctx, "wiki"); err == nil {
		t.Error("wiki is still there after the delete")
	}
	_, raw := admin.get("/admin/audit?service=console&format=json")
	var events []directory.AuditEvent
	if err := json.Unmarshal([]byte(raw), &events); err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		i := slices.IndexFunc(events, func(e directory.AuditEvent) bool { return e.Detail == c.detail && e.Subject == c.subject })
		if i < 0 {
			t.Errorf("no audit event %q of %s", c.detail, c.subject)
		} else if e := events[i]; e.Actor != "admin" || e.Remote != "127.0.0.1" {
			t.Errorf("audit event %q: by %q from %q; want admin from 127.0.0.1", c.detail, e.Actor, e.Remote)
		}
	}
}

// A refused app keeps the form, says why, and shows markup in what the
// admin typed as text; a rule of samlidp.Register (Cloudflare refuses
// IdP-initiated logins) holds here as in the CLI; a delete needs the
// app's name typed.
func TestAppRefusals(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	st.addApp("wiki")
	admin := st.client()
	admin.signIn("/admin/", "admin")
	evil := `<script>alert(1)</script>`
	resp, body := admin.submit("/admin/apps/new", "/admin/apps", url.Values{"name": {evil}, "entity_id": {"https://x.example/sp"}, "acs": {"https://x.example/acs"}})
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, evil) || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("an app named %s: %d, or not shown as text:\n%s", evil, resp.StatusCode, body)
	}
	resp, body = admin.submit("/admin/apps/new", "/admin/apps", url.Values{"name": {"cf"}, "preset": {"cloudflare"}, "idp_initiated": {"on"},
		"entity_id": {"https://team.cloudflareaccess.com/cdn-cgi/access/callback"}, "acs": {"https://team.cloudflareaccess.com/cdn-cgi/access/callback"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "IdP-initiated") || !strings.Contains(body, `value="cf"`) {
		t.Errorf("Cloudflare with IdP-initiated login: %d\n%s", resp.StatusCode, body)
	}
	resp, body = admin.submit("/admin/apps/new", "/admin/apps", url.Values{"name": {"local"}, "metadata_url": {"/etc/passwd"}})
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(body, "root:") {
		t.Errorf("a metadata URL naming a file on the server: %d\n%s", resp.StatusCode, body)
	}
	resp, _ = admin.submit("/admin/apps/wiki/delete", "/admin/apps/wiki/delete", url.Values{"confirm": {"wik"}})
	if _, err := st.d.App(context.Background(), "wiki"); err != nil || resp.StatusCode == http.StatusSeeOther {
		t.Errorf("a delete with the wrong name typed: %d, %v", resp.StatusCode, err)
	}
	for _, step := range []string{"switch", "bogus"} {
		if resp, _ := admin.submit("/admin/apps", "/admin/saml/rotate", url.Values{"step": {step}}); resp.StatusCode != http.StatusConflict && resp.StatusCode != http.StatusBadRequest {
			t.Errorf("rotation step %s with nothing staged: %d", step, resp.StatusCode)
		}
	}
}

var certEndRE = regexp.MustCompile(`</(?:\w+:)?X509Certificate>`)

var secretRE = regexp.MustCompile(`id="client-secret">([^<]+)<`)

// An OIDC app added with a preset gets the preset's redirect URI (as
// `atrium app add --oidc --preset` gives it), and its secret is shown
// once: it works, the app's page never shows it again, and a new one
// replaces it. Each change is audited with the admin.
func TestOIDCAppConsole(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	ctx := context.Background()
	resp, body := admin.submit("/admin/apps/new-oidc", "/admin/apps/oidc", url.Values{"name": {"grafana"}, "preset": {"grafana"},
		"app_url": {"https://grafana.example"}, "groups": {"ops"}, "require_mfa": {"on"}})
	m := secretRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("add: %d, no secret shown\n%.600s", resp.StatusCode, body)
	}
	app, err := st.d.App(ctx, "grafana")
	if err != nil || app.OIDC == nil || !slices.Equal(app.OIDC.RedirectURIs, []string{"https://grafana.example/login/generic_oauth"}) ||
		!app.RequireMFA || !slices.Equal(app.Groups, []string{"ops"}) || app.LaunchURL != "https://grafana.example/" {
		t.Fatalf("the app as stored: %+v, %v", app, err)
	}
	if err := st.d.CheckClientSecret(ctx, app.OIDC.ClientID, m[1]); err != nil {
		t.Errorf("the secret shown does not work: %v", err)
	}
	if _, page := admin.get("/admin/apps/grafana"); strings.Contains(page, m[1]) || !strings.Contains(page, app.OIDC.ClientID) {
		t.Error("the app's page shows the secret again, or not the client ID")
	}
	resp, body = admin.submit("/admin/apps/grafana", "/admin/apps/grafana/rotate-secret", nil)
	n := secretRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || n == nil || n[1] == m[1] {
		t.Fatalf("rotate: %d\n%.600s", resp.StatusCode, body)
	}
	if st.d.CheckClientSecret(ctx, app.OIDC.ClientID, m[1]) == nil || st.d.CheckClientSecret(ctx, app.OIDC.ClientID, n[1]) != nil {
		t.Error("after the rotation the old secret works, or the new one does not")
	}
	resp, body = admin.submit("/admin/apps/new-oidc", "/admin/apps/oidc", url.Values{"name": {"spa"}, "redirect_uris": {"http://127.0.0.1:9/cb"}, "public": {"on"}})
	if resp.StatusCode != http.StatusOK || secretRE.MatchString(body) {
		t.Errorf("a public app: %d, or a secret shown\n%.600s", resp.StatusCode, body)
	}
	if resp, _ := admin.submit("/admin/apps/new-oidc", "/admin/apps/oidc", url.Values{"name": {"bad"}, "preset": {"grafana"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a preset without the app's address: %d", resp.StatusCode)
	}
	_, raw := admin.get("/admin/audit?service=console&format=json")
	var events []directory.AuditEvent
	json.Unmarshal([]byte(raw), &events)
	for _, want := range [][2]string{{"grafana", "app add --oidc"}, {"grafana", "app rotate-secret"}, {"spa", "app add --oidc"}} {
		if !slices.ContainsFunc(events, func(e directory.AuditEvent) bool {
			return e.Subject == want[0] && e.Detail == want[1] && e.Actor == "admin"
		}) {
			t.Errorf("no audit event %q of %s by admin", want[1], want[0])
		}
	}
	if strings.Contains(raw, m[1]) || strings.Contains(raw, n[1]) {
		t.Error("the audit log holds a client secret")
	}
}

// The app's page changes its settings through samlidp.Update: the same
// rules as the add (a Cloudflare app refuses IdP-initiated logins, the
// groups must exist), its entity ID and ACS URL stay, and the change is
// audited with the admin.
func TestAppEdit(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	st.addApp("wiki")
	admin := st.client()
	admin.signIn("/admin/", "admin")
	ctx := context.Background()
	before, _ := st.d.App(ctx, "wiki")
	resp, body := admin.submit("/admin/apps/wiki", "/admin/apps/wiki", url.Values{"preset": {"cloudflare"}, "groups": {"ops, admins"},
		"nameid": {"uid"}, "attributes": {"mail=email\nteam=groups"}, "require_mfa": {"on"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%.600s", resp.StatusCode, body)
	}
	app, _ := st.d.App(ctx, "wiki")
	want := []directory.AppAttribute{{Name: "mail", Source: "mail"}, {Name: "team", Source: "groups"}}
	if app.Preset != "cloudflare" || app.NameID != "uid" || !app.RequireMFA || app.IdPInitiated || !slices.Equal(app.Groups, []string{"ops", "admins"}) ||
		!slices.Equal(app.Attributes, want) || app.EntityID != before.EntityID || !slices.Equal(app.ACS, before.ACS) {
		t.Errorf("after the edit: %+v", app)
	}
	for _, form := range []url.Values{{"preset": {"cloudflare"}, "idp_initiated": {"on"}}, {"groups": {"nobody"}}, {"nameid": {"<b>x</b>"}}, {"encrypt": {"on"}}} {
		resp, body := admin.submit("/admin/apps/wiki", "/admin/apps/wiki", form)
		if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusNotFound || strings.Contains(body, "<b>x</b>") {
			t.Errorf("edit %v: %d, want a refusal with markup as text\n%.600s", form, resp.StatusCode, body)
		}
	}
	if after, _ := st.d.App(ctx, "wiki"); !slices.Equal(after.Attributes, want) || after.IdPInitiated {
		t.Errorf("a refused edit changed the app: %+v", after)
	}
	_, raw := admin.get("/admin/audit?service=console&format=json")
	var events []directory.AuditEvent
	json.Unmarshal([]byte(raw), &events)
	if !slices.ContainsFunc(events, func(e directory.AuditEvent) bool {
		return e.Subject == "wiki" && e.Detail == "app edit" && e.Actor == "admin"
	}) {
		t.Error("no audit event of the edit by admin")
	}
}

// An app is added from its metadata URL: Atrium fetches it, as
// `atrium app add --metadata URL` does, and takes the entity ID and ACS
// from it.
func TestAppFromMetadataURL(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	sp := samltest.New(t)
	md, err := sp.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(md) }))
	t.Cleanup(srv.Close)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	resp, body := admin.submit("/admin/apps/new", "/admin/apps", url.Values{"name": {"wiki"}, "metadata_url": {srv.URL + "/metadata"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("add from a URL: %d\n%.600s", resp.StatusCode, body)
	}
	app, err := st.d.App(context.Background(), "wiki")
	if err != nil || app.EntityID != sp.URL || len(app.ACS) == 0 || app.ACS[0].URL != sp.URL+"/acs" {
		t.Errorf("the app as stored: %+v, %v", app, err)
	}
	resp, body = admin.submit("/admin/apps/new", "/admin/apps", url.Values{"name": {"gone"}, "metadata_url": {srv.URL + "/x"}, "entity_id": {"https://a.example/sp"}, "acs": {"https://a.example/acs"}})
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "either metadata") {
		t.Errorf("metadata and an entity ID together: %d\n%.600s", resp.StatusCode, body)
	}
}

// An app's values come from its metadata, which anyone may write: an
// entity ID holding markup shows as text on the Apps pages.
func TestAppMarkupAsText(t *testing.T) {
	const evil = `urn:"><script>alert(1)</script>`
	st := newSite(t, directory.MFAPolicy{}, true)
	spec := samlidp.AppSpec{Name: "wiki", EntityID: evil, ACS: "https://wiki.example.com/acs/<b>x</b>"}
	if _, err := samlidp.Register(context.Background(), st.d, spec); err != nil {
		t.Fatal(err)
	}
	admin := st.client()
	admin.signIn("/admin/", "admin")
	for _, path := range []string{"/admin/apps", "/admin/apps/wiki", "/admin/apps/wiki/delete"} {
		_, body := admin.get(path)
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<b>x</b>") {
			t.Errorf("%s shows the metadata's markup as markup", path)
		}
	}
	if _, body := admin.get("/admin/apps/wiki"); !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the app's page does not show its entity ID as text")
	}
}

// Adding an app needs a recent sign-in; an upload larger than the cap is
// refused before anything is read into an app.
func TestAppAddStaleAndOversized(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	admin := st.client()
	admin.signIn("/admin/", "admin")
	_, page := admin.get("/admin/apps/new")
	token := csrfRE.FindStringSubmatch(page)[1]
	post := func(size int) *http.Response {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf", token)
		mw.WriteField("name", "big")
		fw, _ := mw.CreateFormFile("metadata", "sp.xml")
		fw.Write(bytes.Repeat([]byte(" "), size))
		mw.Close()
		req, _ := http.NewRequest("POST", st.srv.URL+"/admin/apps", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := admin.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post(300 << 10); resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Errorf("a 300 KiB upload: %d, want 413", resp.StatusCode)
	}
	if resp := post(100); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an upload that is no metadata: %d, want 400", resp.StatusCode)
	}
	st.clock.Advance(16 * time.Minute)
	if resp := post(100); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an add with a stale sign-in: %d, want 403", resp.StatusCode)
	}
	if apps, _ := st.d.ListApps(context.Background()); len(apps) != 0 {
		t.Errorf("apps were added: %v", apps)
	}
}

// The Apps forms without the session's CSRF token are refused and change
// nothing, an upload included.
func TestAppPostsNeedCSRF(t *testing.T) {
	st := newSite(t, directory.MFAPolicy{}, true)
	st.addApp("wiki")
	admin := st.client()
	admin.signIn("/admin/", "admin")
	form := url.Values{"name": {"sneaky"}, "entity_id": {"https://s.example/sp"}, "acs": {"https://s.example/acs"}, "confirm": {"wiki"}, "step": {"stage"}, "preset": {"cloudflare"}}
	for _, path := range []string{"/admin/apps", "/admin/apps/oidc", "/admin/apps/wiki", "/admin/apps/wiki/delete", "/admin/saml/rotate", "/admin/apps/wiki/use-next-cert"} {
		if resp, body := admin.do("POST", path, form); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Form expired") {
			t.Errorf("POST %s without the CSRF token: %d", path, resp.StatusCode)
		}
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("name", "sneaky")
	mw.WriteField("entity_id", "https://s.example/sp")
	mw.WriteField("acs", "https://s.example/acs")
	mw.Close()
	req, _ := http.NewRequest("POST", st.srv.URL+"/admin/apps", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if resp, err := admin.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a multipart add without the CSRF token: %v, %v", resp, err)
	}
	ctx := context.Background()
	if _, err := st.d.App(ctx, "sneaky"); err == nil {
		t.Error("an app was added without the CSRF token")
	}
	if app, err := st.d.App(ctx, "wiki"); err != nil || app.Preset != "generic" || app.NextCert {
		t.Errorf("wiki was deleted or changed without the CSRF token: %+v, %v", app, err)
	}
	if samlidp.SwitchKey(ctx, st.d) == nil {
		t.Error("a certificate was staged without the CSRF token")
	}
}
