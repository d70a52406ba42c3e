package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/etcdstore"
)

// seedBolt makes a single-node directory of n users in data.
func seedBolt(t *testing.T, data string, n int) {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(data, 0o700))
	key, err := directory.LoadOrCreateSecretKey(filepath.Join(data, "secret.key"))
	must(err)
	s, err := boltstore.Open(filepath.Join(data, "atrium.db"), time.Second)
	must(err)
	defer s.Close()
	d, err := directory.New(ctx, s, directory.Options{SecretKey: key})
	must(err)
	defer d.Close()
	must(d.Batch(ctx, func(b *directory.Batch) error {
		for i := range n {
			uid := fmt.Sprintf("user%04d", i)
			if _, err := b.CreateUser(directory.User{UID: uid, Mail: uid + "@example.com"}); err != nil {
				return err
			}
		}
		return nil
	}))
}

// records is every record of a bbolt file.
func records(t *testing.T, path string) map[string]string {
	t.Helper()
	s, err := boltstore.Open(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := map[string]string{}
	if err := s.Each(func(bucket, key string, v []byte) error {
		out[bucket+"/"+key] = string(v)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestMigrateKilledAndRerun: `atrium migrate --to etcd` is killed with
// SIGKILL partway through copying 3,000 users; the cluster is then
// refused by every command, and running migrate again finishes the copy:
// the cluster holds exactly the bbolt file's records, passes the
// directory's invariant check, and `atrium backup` of it is a bbolt file
// that `restore` installs on a single node.
func TestMigrateKilledAndRerun(t *testing.T) {
	n := startEtcdNodes(t)
	a := n.node(t, nil)
	seedBolt(t, a.data, 3000)
	want := records(t, filepath.Join(a.data, "atrium.db"))

	kv, err := clientv3.New(clientv3.Config{Endpoints: n.cluster.Endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	args := append([]string{"migrate", "--to", "etcd", "--data", a.data}, n.flags...)
	cmd := exec.Command(atriumBin, args...)
	cmd.Env = n.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for copied := int64(0); copied < int64(len(want))/3; {
		resp, err := kv.Get(context.Background(), "/corp/d/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		copied = resp.Count
		time.Sleep(2 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); err == nil {
		t.Fatalf("migrate finished before it could be killed:\n%s", out.String())
	}

	r := a.run(t, "", append([]string{"user", "list"}, n.flags...)...)
	if r.code == exitOK || !strings.Contains(r.stderr, "has not finished") {
		t.Fatalf("a half-copied cluster: user list exit %d, stderr %q; want a refusal", r.code, r.stderr)
	}
	if got := n.ok(t, a, "", "migrate", "--to", "etcd"); !strings.Contains(got, "Finishing an earlier copy") {
		t.Errorf("rerun printed %q", got)
	}

	ctx := context.Background()
	node, err := etcdstore.Open(ctx, kv, etcdstore.Options{Prefix: "/corp"})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	d, err := directory.New(ctx, node, directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if problems, err := d.Check(ctx); err != nil || len(problems) > 0 {
		t.Fatalf("check of the migrated cluster: %v %v", err, problems)
	}

	backup := filepath.Join(t.TempDir(), "cluster.db")
	n.ok(t, a, "", "backup", backup)
	if got := records(t, backup); !maps.Equal(got, want) {
		t.Fatalf("the cluster's backup has %d records, the migrated file %d; they differ", len(got), len(want))
	}
	// The backup goes back into the cluster, under another prefix.
	restored := append(slices.Clone(n.flags), "--etcd-prefix", "/restored")
	a.ok(t, append([]string{"restore", backup}, restored...)...)
	if out := a.ok(t, append([]string{"user", "show", "user2999"}, restored...)...); !strings.Contains(out, "user2999@example.com") {
		t.Errorf("restored into etcd: user show printed %q", out)
	}
	single := a.fresh(t)
	single.ok(t, "restore", backup)
	if out := single.ok(t, "user", "show", "user2999"); !strings.Contains(out, "user2999@example.com") {
		t.Errorf("restored single node: user show printed %q", out)
	}
}
