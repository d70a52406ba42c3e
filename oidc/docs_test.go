package oidc

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/clients/oidc-*.md from the presets")

const docsDir = "../docs/clients"

// TestPresetDocs: every committed OIDC guide is exactly what its preset
// renders, the docs index and README link each one, there is no guide
// without a preset, and every claim and scope a guide names is one the
// provider offers. Run with -update to write the guides.
func TestPresetDocs(t *testing.T) {
	index := readDoc(t, filepath.Join(docsDir, "README.md"))
	readme := readDoc(t, "../README.md")
	for _, p := range Presets() {
		want, err := p.Markdown()
		if err != nil {
			t.Fatal(err)
		}
		file := "oidc-" + p.Name + ".md"
		path := filepath.Join(docsDir, file)
		checkPresetOffered(t, p)
		if !strings.Contains(index, "("+file+")") || !strings.Contains(readme, "(docs/clients/"+file+")") {
			t.Errorf("docs/clients/README.md or README.md does not link %s", file)
		}
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got := readDoc(t, path); !bytes.Equal([]byte(got), want) {
			t.Errorf("%s differs from what preset %s renders; run go test ./oidc -run TestPresetDocs -update", path, p.Name)
		}
	}
	files, err := filepath.Glob(filepath.Join(docsDir, "oidc-*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "oidc-"), ".md")
		if _, err := FindPreset(name); err != nil {
			t.Errorf("%s has no preset in oidc/presets.go", f)
		}
	}
}

func checkPresetOffered(t *testing.T, p Preset) {
	t.Helper()
	scopes := []string{"openid", "profile", "email", scopeGroups, "offline_access"}
	for _, s := range p.Scopes {
		if !slices.Contains(scopes, s) {
			t.Errorf("preset %s asks for scope %q, which Atrium does not offer", p.Name, s)
		}
	}
	for _, c := range p.Claims {
		if !slices.Contains(supportedClaims, c) {
			t.Errorf("preset %s reads claim %q, which Atrium does not release", p.Name, c)
		}
		if scope := claimDocs[c][0]; !slices.Contains(p.Scopes, scope) {
			t.Errorf("preset %s reads claim %q without asking for scope %q", p.Name, c, scope)
		}
	}
}

func readDoc(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !(*update && strings.Contains(path, "oidc-")) {
		t.Fatalf("%v (run go test ./oidc -run TestPresetDocs -update)", err)
	}
	return string(b)
}
