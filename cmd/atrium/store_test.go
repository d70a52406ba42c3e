package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The store is chosen the same way from YAML, ATRIUM_* and flags, and
// Validate names each mistake.
func TestStoreConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "atrium.yaml")
	yaml := "store:\n  kind: etcd\n  etcd:\n    endpoints: [http://127.0.0.1:2379]\n    prefix: /corp\n    request_timeout: 3s\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(file, nil)
	if err != nil || c.Store.Kind != "etcd" || c.Store.Etcd.Prefix != "/corp" || c.Store.Etcd.RequestTimeout != 3*time.Second {
		t.Fatalf("from YAML: %+v, %v", c.Store, err)
	}
	if p := c.Validate(); len(p) > 0 {
		t.Errorf("a good etcd configuration: %q", p)
	}
	t.Setenv("ATRIUM_ETCD_ENDPOINTS", "https://a:2379, https://b:2379")
	t.Setenv("ATRIUM_ETCD_REQUIRE_FRESH_LOGINS", "true")
	c, err = loadConfig(file, map[string]string{"etcd-prefix": "/flag"})
	if err != nil || !slices.Equal(c.Store.Etcd.Endpoints, []string{"https://a:2379", "https://b:2379"}) || c.Store.Etcd.Prefix != "/flag" || !c.Store.Etcd.RequireFreshLogins {
		t.Fatalf("environment and flag over YAML: %+v, %v", c.Store, err)
	}

	c = defaultConfig()
	if c.Store.Kind != "bolt" || len(c.Validate()) > 0 {
		t.Fatalf("default store: %+v %q", c.Store, c.Validate())
	}
	c.Store.Etcd.Endpoints = []string{"http://a:2379"}
	if got := strings.Join(c.Validate(), "\n"); !strings.Contains(got, "store.kind is bolt") {
		t.Errorf("endpoints without kind etcd: %q", got)
	}
	c.Store.Kind = "etcd"
	c.Store.Etcd.Endpoints = []string{"a:2379"}
	c.Store.Etcd.Cert = "/nonexistent/client.crt"
	c.Store.Etcd.Prefix = "/"
	got := strings.Join(c.Validate(), "\n")
	for _, want := range []string{`"a:2379" must be an http:// or https:// URL`, "give both cert and key", "cannot read /nonexistent/client.crt", "store.etcd.prefix"} {
		if !strings.Contains(got, want) {
			t.Errorf("Validate() = %q, want a problem containing %q", got, want)
		}
	}
	c = defaultConfig()
	c.Store.Kind = "postgres"
	if got := strings.Join(c.Validate(), "\n"); !strings.Contains(got, `store.kind: "postgres" must be bolt or etcd`) {
		t.Errorf("unknown kind: %q", got)
	}
	c.Store.Kind = "etcd"
	if got := strings.Join(c.Validate(), "\n"); !strings.Contains(got, "store.etcd.endpoints: list the client URLs") {
		t.Errorf("etcd without endpoints: %q", got)
	}
}
