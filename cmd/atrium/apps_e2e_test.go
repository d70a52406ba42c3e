package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const cfACS = "https://team.cloudflareaccess.com/cdn-cgi/access/callback"

// appCommands drives app and saml commands; metadataOf returns the IdP
// metadata as an SP would see it.
func appCommands(t *testing.T, c *cli, metadataOf func() string) {
	c.ok(t, "group add", "staff")
	out := c.ok(t, "app", "add", "cloudflare", "--preset", "cloudflare", "--entity-id", cfACS, "--acs", cfACS, "--groups", "staff")
	if !strings.Contains(out, "Registered app cloudflare") {
		t.Errorf("app add: %s", out)
	}
	c.fails(t, exitExists, "app", "add", "cloudflare", "--entity-id", "https://other.example/", "--acs", "https://other.example/acs")
	r := c.fails(t, exitInvalid, "app", "add", "evil", "--entity-id", "https://evil.example/", "--acs", "javascript:alert(1)")
	if !strings.Contains(r.stderr, "is not an absolute URL") {
		t.Errorf("javascript: ACS refusal: %s", r.stderr)
	}
	c.fails(t, exitInvalid, "app", "add", "cf2", "--preset", "cloudflare", "--entity-id", "https://x.example/", "--acs", "https://x.example/acs", "--idp-initiated")
	c.fails(t, 3, "app", "add", "nogroup", "--entity-id", "https://y.example/", "--acs", "https://y.example/acs", "--groups", "missing")

	md := filepath.Join(t.TempDir(), "grafana.xml")
	os.WriteFile(md, []byte(`<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://grafana.example/saml/metadata">
<SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://grafana.example/saml/acs" index="1"/>
</SPSSODescriptor></EntityDescriptor>`), 0o644)
	c.ok(t, "app", "add", "grafana", "--metadata", md, "--nameid", "persistent", "--attribute", "login=uid", "--attribute", "email=mail")

	apps := decodeJSON[[]map[string]any](t, c.ok(t, "app", "list", "--json"))
	if len(apps) != 2 || apps[0]["name"] != "cloudflare" || apps[1]["entityID"] != "https://grafana.example/saml/metadata" {
		t.Errorf("app list --json: %v", apps)
	}
	if table := c.ok(t, "app", "list"); !strings.Contains(table, "ENTITY ID") || !strings.Contains(table, "staff") {
		t.Errorf("app list table:\n%s", table)
	}
	show := c.ok(t, "app", "show", "grafana")
	for _, want := range []string{"persistent", "login=uid", "https://grafana.example/saml/acs"} {
		if !strings.Contains(show, want) {
			t.Errorf("app show lacks %q:\n%s", want, show)
		}
	}

	if md := c.ok(t, "saml", "metadata"); !strings.Contains(md, "IDPSSODescriptor") || strings.Count(md, "<X509Certificate") != 1 {
		t.Errorf("saml metadata:\n%s", md)
	}
	c.ok(t, "saml", "rotate-cert")
	if got := strings.Count(metadataOf(), "<X509Certificate"); got != 2 {
		t.Errorf("after staging, metadata lists %d certificates, want 2", got)
	}
	c.fails(t, exitConflict, "saml", "rotate-cert")
	c.ok(t, "saml", "rotate-cert", "--app", "cloudflare")
	c.ok(t, "saml", "rotate-cert", "--switch")
	c.ok(t, "saml", "rotate-cert", "--finish")
	if got := strings.Count(metadataOf(), "<X509Certificate"); got != 1 {
		t.Errorf("after finishing, metadata lists %d certificates, want 1", got)
	}
	c.ok(t, "app", "delete", "grafana")
	c.fails(t, 3, "app", "show", "grafana")
}

func TestAppCommandsWithoutServer(t *testing.T) {
	c := &cli{data: filepath.Join(t.TempDir(), "data"), env: testEnv(), tr: &transcript{}}
	appCommands(t, c, func() string { return c.ok(t, "saml", "metadata") })
}

func TestAppCommandsWithServer(t *testing.T) {
	c := &cli{data: filepath.Join(t.TempDir(), "data"), env: testEnv(), tr: &transcript{}, served: true}
	srv := startServer(t, c.data, c.env, nil)
	appCommands(t, c, func() string {
		resp, err := http.Get("http://" + srv.httpAddr + "/saml/metadata")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	})
	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get("http://" + srv.httpAddr + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `name="password"`) {
		t.Errorf("the served login page: %d\n%s", resp.StatusCode, body)
	}
}
