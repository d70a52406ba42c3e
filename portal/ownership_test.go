package portal_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// The portal holds no logic of codes: adding an authenticator app and
// making recovery codes are package otp's, which adds them to the page as
// sections like passkeys and push. So the portal imports neither totp nor
// otp, calls none of the directory's operations on codes, and draws no
// form of theirs.
func TestPortalOwnsNoCodes(t *testing.T) {
	const module = "github.com/atrium-dir/atrium/"
	goTool := testenv.Tool(t, "go", "golang-go")
	list := func(args ...string) []string {
		t.Helper()
		out, err := exec.Command(goTool, append([]string{"list"}, args...)...).Output()
		if err != nil {
			t.Fatalf("go list %v: %v", args, err)
		}
		return strings.Fields(string(out))
	}
	// The directory checks codes with totp's arithmetic, so totp is among
	// the portal's indirect imports, never among its own.
	if imports := list("-f", "{{join .Imports \" \"}}", module+"portal"); slices.Contains(imports, module+"totp") {
		t.Errorf("portal imports totp: %v", imports)
	}
	if slices.Contains(list("-deps", module+"portal"), module+"otp") {
		t.Error("portal depends on otp")
	}

	codeOps := map[string]bool{"BeginTOTP": true, "ConfirmTOTP": true, "VerifyTOTP": true, "NewRecoveryCodes": true, "RecoveryCodesLeft": true, "UseRecoveryCode": true}
	sources, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, name := range sources {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok && codeOps[sel.Sel.Name] {
				t.Errorf("%s calls %s", fset.Position(sel.Pos()), sel.Sel.Name)
			}
			return true
		})
	}

	pages, _ := filepath.Glob("web/*.html")
	for _, name := range pages {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, form := range []string{"/account/totp", "/account/recovery-codes"} {
			if strings.Contains(string(b), form) {
				t.Errorf("%s draws the form %s", name, form)
			}
		}
	}
	if len(sources) == 0 || len(pages) == 0 {
		t.Fatal("no sources or pages found: the test runs in the wrong directory")
	}
}
