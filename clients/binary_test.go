package clients_test

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-dir/atrium/clients"
)

// The real atrium binary, built once for the tests that run it.
var (
	buildOnce sync.Once
	atriumBin string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if atriumBin != "" {
		os.RemoveAll(filepath.Dir(atriumBin))
	}
	os.Exit(code)
}

// cli runs atrium commands on a fresh data directory, with the external
// URL given.
func cli(t *testing.T, external string) func(stdin string, args ...string) []byte {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "atrium-clients-")
		if err != nil {
			buildErr = err
			return
		}
		atriumBin = filepath.Join(dir, "atrium")
		if out, err := exec.Command("go", "build", "-o", atriumBin, "github.com/atrium-dir/atrium/cmd/atrium").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	data := t.TempDir()
	return func(stdin string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(atriumBin, append(args, "--data", data)...)
		cmd.Env = append(os.Environ(), "ATRIUM_EXTERNAL_URL="+external)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("atrium %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
}

// TestSetupCommands runs every guide's setup commands with the real atrium
// binary: each makes the bind account the guide names, at the DN the guide
// gives, with the rights it says.
func TestSetupCommands(t *testing.T) {
	run := cli(t, "http://localhost:8080")
	want := map[string][]string{}
	for _, name := range clients.Names() {
		g, err := clients.Guide(name, clients.DefaultSettings())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range g.Setup {
			args := strings.Fields(c)
			out := run("setup-secret-password\n", append(args[1:], "--password-stdin")...)
			if !strings.Contains(string(out), g.BindDN) {
				t.Errorf("%s: %q printed %q, not the guide's bind DN %s", name, c, out, g.BindDN)
			}
		}
		if g.Needs.BindAccount != "" {
			want[g.Needs.BindAccount] = g.Needs.Rights
		}
	}
	var accounts []struct {
		Name   string   `json:"name"`
		Rights []string `json:"rights"`
	}
	if err := json.Unmarshal(run("", "bind-account", "list", "--json"), &accounts); err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, a := range accounts {
		got[a.Name] = a.Rights
	}
	if len(got) != len(want) {
		t.Errorf("bind accounts %v, want %v", got, want)
	}
	for name, rights := range want {
		if !slices.Equal(got[name], rights) {
			t.Errorf("bind account %s has rights %v, the guide says %v", name, got[name], rights)
		}
	}
}

// metadata is the part of SAML IdP metadata a Cloudflare admin copies.
type metadata struct {
	EntityID string `xml:"entityID,attr"`
	IdP      struct {
		Certs   []string `xml:"KeyDescriptor>KeyInfo>X509Data>X509Certificate"`
		Formats []string `xml:"NameIDFormat"`
		SSO     []struct {
			Binding  string `xml:"Binding,attr"`
			Location string `xml:"Location,attr"`
		} `xml:"SingleSignOnService"`
	} `xml:"IDPSSODescriptor"`
}

// TestCloudflareAgainstAtrium runs the real atrium binary: the SSO URL,
// entity ID and certificate the Cloudflare guide gives are those of the
// metadata `atrium saml metadata` prints for the same external URL, the
// guide's commands register the app, and the app then releases exactly
// the NameID and attributes the guide tells Cloudflare to expect.
func TestCloudflareAgainstAtrium(t *testing.T) {
	const external = "https://sso.corp.test"
	run := cli(t, external)
	atrium := func(args ...string) []byte { t.Helper(); return run("", args...) }

	var md metadata
	if err := xml.Unmarshal(atrium("saml", "metadata"), &md); err != nil {
		t.Fatal(err)
	}
	if len(md.IdP.Certs) != 1 {
		t.Fatalf("metadata certificates: %d", len(md.IdP.Certs))
	}
	s := clients.DefaultSettings()
	s.ExternalURL, s.SigningCert = external+"/", md.IdP.Certs[0]
	guide, err := clients.Guide("cloudflare", s)
	if err != nil {
		t.Fatal(err)
	}
	field := func(label string) string {
		t.Helper()
		v, ok := guide.Value(label)
		if !ok {
			t.Fatalf("the guide has no field %q", label)
		}
		return v
	}
	if got := field("IdP Entity ID or Issuer URL"); got != md.EntityID || guide.EntityID != md.EntityID {
		t.Errorf("entity ID: guide %q, metadata %q", got, md.EntityID)
	}
	for _, sso := range md.IdP.SSO {
		if got := field("Single Sign-On URL"); got != sso.Location || guide.SSOURL != sso.Location {
			t.Errorf("SSO URL: guide %q, metadata (%s) %q", got, sso.Binding, sso.Location)
		}
	}
	if got := field("Signing certificate"); got != md.IdP.Certs[0] {
		t.Errorf("signing certificate: guide %q", got)
	}
	if !slices.Contains(md.IdP.Formats, "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress") {
		t.Errorf("the metadata does not offer the email NameID the guide promises: %v", md.IdP.Formats)
	}

	team := strings.NewReplacer("<team>", "corp")
	for _, label := range []string{"The group that may use it", "The app"} {
		args := strings.Fields(team.Replace(field(label)))
		if args[0] != "atrium" {
			t.Fatalf("%s: %q is not an atrium command", label, args)
		}
		atrium(args[1:]...)
	}
	var app struct {
		NameID     string `json:"nameID"`
		Attributes []struct {
			Name string `json:"name"`
		} `json:"attributes"`
	}
	if err := json.Unmarshal(atrium("app", "show", "cloudflare", "--json"), &app); err != nil {
		t.Fatal(err)
	}
	var released []string
	for _, a := range app.Attributes {
		released = append(released, a.Name)
	}
	if app.NameID != guide.SAML.NameID || !slices.Equal(released, guide.SAML.Attributes) {
		t.Errorf("the app releases NameID %q and %v; the guide says %q and %v", app.NameID, released, guide.SAML.NameID, guide.SAML.Attributes)
	}
	for _, name := range append(strings.Split(field("SAML attributes"), ", "), field("Email attribute name"), field("Attribute name")) {
		if !slices.Contains(released, name) {
			t.Errorf("the guide names attribute %q, which the app does not release", name)
		}
	}
}
