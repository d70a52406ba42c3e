package ldapbench

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/ldapserver"
	"github.com/atrium-dir/atrium/ldif"
)

// The load generator and the null server frame messages with the LDAP
// server's own framing (package lber): every workload runs, over TCP,
// against the null server and against a real Atrium with a small dataset.
func TestWorkloadsOverTheSharedFraming(t *testing.T) {
	for _, tc := range []struct {
		name  string
		d     Dataset
		start func(*testing.T, Dataset) string
	}{
		{"null", Dataset{Base: "dc=example,dc=com", Users: 1, Groups: 1, BindUsers: 1}, startNullInProcess},
		{"atrium", Dataset{Base: "dc=example,dc=com", Users: 40, Groups: 4, BindUsers: 2}, startAtriumInProcess},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := tc.start(t, tc.d)
			for _, w := range Workloads(tc.d, 2) {
				r, err := Run(addr, w, 6, nil)
				if err != nil {
					t.Fatal(err)
				}
				if r.Ops != 6 {
					t.Errorf("%s: %d operations, want 6", w.Name, r.Ops)
				}
			}
		})
	}
}

func startNullInProcess(t *testing.T, _ Dataset) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go serveNull(nc)
		}
	}()
	return ln.Addr().String()
}

func startAtriumInProcess(t *testing.T, d Dataset) string {
	ctx := context.Background()
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "atrium.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	dir, err := directory.New(ctx, store, directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dir.Close() })
	if err := d.LoadAtrium(ctx, dir); err != nil {
		t.Fatal(err)
	}
	layout, err := ldif.NewLayout(d.Base)
	if err != nil {
		t.Fatal(err)
	}
	srv := &ldapserver.Server{
		Backend: ldapserver.NewBackend(ldapserver.BackendConfig{Directory: dir, Layout: layout, Logger: slog.New(slog.DiscardHandler)}),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return ln.Addr().String()
}
