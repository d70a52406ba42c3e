package clients

import (
	"bytes"
	"errors"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ldap "github.com/go-ldap/ldap/v3"
)

var update = flag.Bool("update", false, "rewrite docs/clients from the data files")

const docsDir = "../docs/clients"

// TestDocs: every committed guide is exactly what its data file renders to
// for the default settings, and there is no guide without a data file.
// Run with -update to write them.
func TestDocs(t *testing.T) {
	var guides []Rendered
	docs := map[string][]byte{}
	for _, name := range Names() {
		r, err := Guide(name, DefaultSettings())
		if err != nil {
			t.Fatal(err)
		}
		guides = append(guides, r)
		if docs[name], err = Markdown(r); err != nil {
			t.Fatal(err)
		}
	}
	index, err := Index(guides)
	if err != nil {
		t.Fatal(err)
	}
	docs["README"] = index
	for _, name := range slices.Sorted(maps.Keys(docs)) {
		want := docs[name]
		path := filepath.Join(docsDir, name+".md")
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./clients -run TestDocs -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what clients/data renders; run go test ./clients -run TestDocs -update", path)
		}
	}
	files, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".md")
		// oidc-*.md come from the OIDC presets (TestPresetDocs in oidc).
		if name != "README" && !strings.HasPrefix(name, "oidc-") && !slices.Contains(Names(), name) {
			t.Errorf("%s has no data file in clients/data", f)
		}
	}
}

// TestDataFiles: every data file renders for other settings too, its
// filters parse, and the settings reach the values.
func TestDataFiles(t *testing.T) {
	s := Settings{BaseDN: "dc=corp,dc=test", Host: "ldap.corp.test", LDAPPort: 389, LDAPSPort: 636,
		ExternalURL: "https://sso.corp.test/", User: "zoe", Group: "ops"}
	for _, name := range Names() {
		r, err := Guide(name, s)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range r.Searches {
			if q.Filter == "" {
				continue
			}
			if _, err := ldap.CompileFilter(q.Filter); err != nil {
				t.Errorf("%s %q: filter %s: %v", name, q.Name, q.Filter, err)
			}
			if strings.Contains(q.Base+q.Filter, "dc=example") || strings.Contains(q.Filter, "alice") {
				t.Errorf("%s %q: a default leaked past the settings: %s %s", name, q.Name, q.Base, q.Filter)
			}
		}
		checkFieldsSent(t, r, s.User)
		md, err := Markdown(r)
		if err != nil {
			t.Fatal(err)
		}
		if r.Kind == "ldap" && !bytes.Contains(md, []byte(r.URI)) {
			t.Errorf("%s: the guide never gives the server's address %s", name, r.URI)
		}
	}
	if _, err := Guide("nosuch", s); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown client: %v", err)
	}
}

// checkFieldsSent: a value the admin enters that the client sends (a base
// DN, a filter) is in the request the live test runs.
func checkFieldsSent(t *testing.T, r Rendered, user string) {
	t.Helper()
	for _, sc := range r.Screens {
		for _, f := range sc.Fields {
			if f.Search == "" {
				continue
			}
			sent := strings.Trim(f.Value, `"[]`)
			if f.Placeholder != "" {
				sent = strings.ReplaceAll(sent, f.Placeholder, user)
			}
			i := slices.IndexFunc(r.Searches, func(q Search) bool { return q.Name == f.Search })
			if q := r.Searches[i]; q.Base != sent && !strings.Contains(q.Filter, sent) {
				t.Errorf("%s: %q = %q is not what %q sends (base %q, filter %q)", r.Name, f.Label, sent, q.Name, q.Base, q.Filter)
			}
		}
	}
}
