package samlidp_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/internal/testenv"
	"github.com/atrium-dir/atrium/samlidp"
)

// interopPython is Debian's Python, which has python3-onelogin-saml2 and
// python3-lasso (a plain "python3" may be a pyenv shim without them).
func interopPython(t *testing.T, module, debianPackage string) string {
	t.Helper()
	python := testenv.Tool(t, "/usr/bin/python3", "python3")
	if out, err := exec.Command(python, "-c", "import "+module).CombinedOutput(); err != nil {
		testenv.Missing(t, "python module "+module+" is not installed (apt-get install "+debianPackage+"): "+strings.TrimSpace(string(out)))
	}
	return python
}

// TestOneLoginStrict completes an SP-initiated login (HTTP-Redirect
// request, HTTP-POST response) into a python3-onelogin-saml2 SP in strict
// mode, registered from its own metadata: it checks both signatures,
// Destination, Recipient, Audience, InResponseTo and the validity window,
// and must accept the response with alice's NameID and every group.
func TestOneLoginStrict(t *testing.T) {
	python := interopPython(t, "onelogin.saml2", "python3-onelogin-saml2")
	h := newHarness(t)
	sp := interopStartSP(t, exec.Command(python, "testdata/interop/onelogin_sp.py", h.srv.URL+"/saml/metadata"))
	app := h.addApp(samlidp.AppSpec{Name: "onelogin", Metadata: sp.metadata(t), Groups: []string{"staff"}})
	if app.EntityID != sp.URL+"/metadata" || app.ACS[0].URL != sp.URL+"/acs" {
		t.Fatalf("registered from the SP's metadata as %s with ACS %+v", app.EntityID, app.ACS)
	}

	b := newBrowser(t)
	res, status := sp.post(t, b, sp.login(t, h, b, "alice"))
	if status != 200 || res.Error != "" {
		t.Fatalf("the SP refused the response (%d): %s", status, res.Error)
	}
	interopCheckAlice(t, res, "groups")
	if got := res.Attributes["email"]; !slices.Equal(got, []string{"alice@example.com"}) {
		t.Errorf("email %q", got)
	}
	if res.RelayState == "" {
		t.Error("RelayState was not echoed")
	}

	t.Run("response to another request", func(t *testing.T) {
		b := newBrowser(t)
		first := sp.login(t, h, b, "alice")
		second := b.get(sp.URL + "/login") // alice is signed in: straight to the auto-POST form
		_, firstForm := first.form()
		action, secondForm := second.form()
		if secondForm.Get("SAMLResponse") == "" {
			t.Fatalf("single sign-on gave no response:\n%s", second.body)
		}
		// The first response under the second request's RelayState: strict
		// mode must see that it answers another AuthnRequest.
		secondForm.Set("SAMLResponse", firstForm.Get("SAMLResponse"))
		p := b.post(action, secondForm)
		if p.status != 403 || !strings.Contains(p.body, "InResponseTo") {
			t.Errorf("the SP accepted a response to another request: %d %s", p.status, p.body)
		}
	})
	t.Run("user outside the app's groups", func(t *testing.T) {
		b := newBrowser(t)
		p := sp.login(t, h, b, "bob")
		if p.status != 403 || !strings.Contains(p.body, "You do not have access to onelogin") || strings.Contains(p.body, "SAMLResponse") {
			t.Errorf("bob was not refused: %d\n%s", p.status, p.body)
		}
	})
}
