package web_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/web"
)

// The browser scripts share one set of base64url and WebAuthn helpers,
// served once from /assets/webauthn.js: no other script decodes base64 or
// converts credentials itself.
func TestOneCopyOfTheWebAuthnHelpers(t *testing.T) {
	w := httptest.NewRecorder()
	web.Assets().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/assets/webauthn.js", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "window.atriumWebAuthn") {
		t.Fatalf("/assets/webauthn.js: %d\n%.200s", w.Code, w.Body)
	}
	shared, _ := filepath.Abs(filepath.Join("assets", "webauthn.js"))
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") && d.Name() != "..") {
			return filepath.SkipDir // outside programs' scripts, git
		}
		if d.IsDir() || !strings.HasSuffix(path, ".js") {
			return nil
		}
		if abs, _ := filepath.Abs(path); abs == shared {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, copied := range []string{"atob(", "btoa(", "getClientExtensionResults"} {
			if strings.Contains(string(b), copied) {
				t.Errorf("%s has its own copy of the helpers (%s); use window.atriumWebAuthn", path, copied)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
