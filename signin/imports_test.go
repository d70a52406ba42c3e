package signin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"testing"

	"github.com/atrium-dir/atrium/internal/testenv"
)

const module = "github.com/atrium-dir/atrium/"

// deps lists, with go list, every package pkg imports, directly or not
// (tests excluded).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	var out, stderr bytes.Buffer
	cmd := exec.Command(testenv.Tool(t, "go", "golang-go"), "list", "-deps", "-json=ImportPath", module+pkg)
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go list %s: %v\n%s", pkg, err, stderr.String())
	}
	var paths []string
	dec := json.NewDecoder(&out)
	for {
		var p struct{ ImportPath string }
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p.ImportPath)
	}
	return paths
}

// The sign-in engine is the hub front ends share: no front end reaches it
// through the self-service pages, and passkeys stand alone, so that the
// console and OpenID Connect can be built on signin and web alone.
func TestImportGraph(t *testing.T) {
	for _, tc := range []struct{ from, to string }{
		{"samlidp", "portal"},
		{"oidc", "portal"},
		{"oidc", "samlidp"},
		{"push", "portal"},
		{"passkey", "portal"},
		{"otp", "portal"},
		{"passkey", "push"},
		{"signin", "portal"},
		{"console", "portal"},
		{"web", "signin"},
	} {
		if slices.Contains(deps(t, tc.from), module+tc.to) {
			t.Errorf("%s imports %s", tc.from, tc.to)
		}
	}
	for _, front := range []string{"samlidp", "oidc", "push", "passkey", "otp", "portal", "console"} {
		d := deps(t, front)
		for _, want := range []string{"signin", "web"} {
			if !slices.Contains(d, module+want) {
				t.Errorf("%s does not use %s", front, want)
			}
		}
	}
}
