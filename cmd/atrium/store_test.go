package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory/etcdstore"
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

// TestLogHealth: the log says once when the cluster is lost and when it
// is back, and when the node's copy lags at two checks in a row and when
// it has caught up; a lag seen at one check only (a commit in flight)
// says nothing.
func TestLogHealth(t *testing.T) {
	unavailable := etcdstore.Health{Err: etcdstore.ErrUnavailable}
	lag := func(n int64) etcdstore.Health { return etcdstore.Health{Lag: n} }
	seq := []etcdstore.Health{lag(0), unavailable, unavailable, lag(0), lag(2), lag(0), lag(3), lag(5), lag(4), lag(0), lag(0)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	i := 0
	health := func(context.Context) etcdstore.Health {
		h := seq[i]
		if i++; i == len(seq) {
			cancel()
		}
		return h
	}
	var out bytes.Buffer
	logHealth(ctx, health, time.Millisecond, slog.New(slog.NewTextHandler(&out, nil)))
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		_, msg, _ := strings.Cut(line, `msg="`)
		msg, _, _ = strings.Cut(msg, `"`)
		got = append(got, msg[:min(len(msg), 30)])
	}
	want := []string{"etcd cluster lost: no quorum r", "etcd cluster reachable again", "this node's copy falls behind ", "this node's copy has caught up"}
	if !slices.Equal(got, want) {
		t.Fatalf("logged %q, want %q:\n%s", got, want, out.String())
	}
}
