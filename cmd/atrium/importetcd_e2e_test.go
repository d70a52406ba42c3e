package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// writeUsersLDIF writes n users, each with a password hash, and ten
// groups that share them out.
func writeUsersLDIF(t *testing.T, n int) (string, []string) {
	var b strings.Builder
	var uids []string
	for i := range n {
		uid := fmt.Sprintf("user%05d", i)
		uids = append(uids, uid)
		fmt.Fprintf(&b, "dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: %s\ncn: User %d\nsn: U%d\nmail: %s@example.com\nuidNumber: %d\ngidNumber: %d\nhomeDirectory: /home/%s\nuserPassword: {SSHA}NSZEu/ZzEMKdBO5ESNEYml3qKRYBAgMEBQYHCA==\n\n",
			uid, baseDN, uid, i, i, uid, 20000+i, 20000+i, uid)
	}
	for g := range 10 {
		fmt.Fprintf(&b, "dn: cn=team%d,ou=groups,%s\nobjectClass: groupOfNames\ncn: team%d\n", g, baseDN, g)
		for i := g; i < n; i += 10 {
			fmt.Fprintf(&b, "member: uid=%s,ou=people,%s\n", uids[i], baseDN)
		}
		b.WriteString("\n")
	}
	path := filepath.Join(t.TempDir(), "users.ldif")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, uids
}

// TestImportIntoEtcdKilledAndRerun: `atrium import` of 10,000 users into
// an etcd cluster, far over one transaction's limit, is killed with
// SIGKILL while it writes into the cluster; run again, it finishes the
// import it had begun. The cluster then holds every user once and passes
// the invariant check, and a third run is refused, as the users exist.
// On both clusters.
func TestImportIntoEtcdKilledAndRerun(t *testing.T) { onBothClusters(t, importIntoEtcdKilledAndRerun) }

func importIntoEtcdKilledAndRerun(t *testing.T, n *etcdNodes) {
	a := n.node(t, nil)
	n.ok(t, a, "reader password 1\n", "bind-account", "add", "reader", "--password-stdin")
	file, uids := writeUsersLDIF(t, 10000)

	kv, err := clientv3.New(clientv3.Config{Endpoints: n.endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer kv.Close()
	cmd := exec.Command(atriumBin, append([]string{"import", file, "--data", a.data}, n.flags...)...)
	cmd.Env = n.env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once the marker is set and some chunks are in.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(5 * time.Millisecond) {
		resp, err := kv.Get(context.Background(), "/corp/d/users\x00", clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		if resp.Count >= 1000 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("import wrote no users into the cluster in 2 minutes:\n%s", out.String())
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	if err := cmd.Wait(); err == nil {
		t.Fatalf("import finished before it could be killed:\n%s", out.String())
	}
	resp, err := kv.Get(context.Background(), "/corp/d/users\x00", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	if resp.Count >= int64(len(uids)) {
		t.Fatalf("all %d users were in before the kill", resp.Count)
	}

	if got := n.ok(t, a, "", "import", file); !strings.Contains(got, "Finishing an earlier import") {
		t.Errorf("rerun printed %q", got)
	}
	checkCluster(t, n, uids)
	resp, err = kv.Get(context.Background(), "/corp/d/users\x00", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil || resp.Count != int64(len(uids)) {
		t.Fatalf("%d user records after the rerun (%v), want %d", resp.Count, err, len(uids))
	}
	if r := a.run(t, "", append([]string{"import", file}, n.flags...)...); r.code == exitOK || !strings.Contains(r.stderr, "nothing was imported") {
		t.Errorf("a third import of the same users: exit %d, %q", r.code, r.stderr)
	}
}
