package etcdtest

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// StartDebian runs a three-member cluster of the etcd program Debian
// ships (etcd-server, 3.4 in Debian 12), stopped with SIGKILL when the
// test ends, and returns its client URLs once it takes writes. Without
// the program the test is skipped (failed under CI).
func StartDebian(t *testing.T) []string {
	bin := testenv.Tool(t, "etcd", "etcd-server")
	dir := t.TempDir()
	var peers, clients, initial []string
	for i := range 3 {
		peer, client := FreeURL(), FreeURL()
		if peer == nil || client == nil {
			t.Fatal("no free loopback port")
		}
		peers, clients = append(peers, peer.String()), append(clients, client.String())
		initial = append(initial, fmt.Sprintf("m%d=%s", i, peer))
	}
	for i := range 3 {
		cmd := exec.Command(bin,
			"--name", fmt.Sprintf("m%d", i), "--data-dir", filepath.Join(dir, strconv.Itoa(i)),
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", peers[i],
			"--listen-client-urls", clients[i], "--advertise-client-urls", clients[i],
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "debian-"+filepath.Base(dir),
			"--heartbeat-interval", "10", "--election-timeout", "100",
			"--logger", "zap", "--log-level", "error")
		out := &testenv.Output{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("etcd m%d said:\n%s", i, out)
			}
		})
	}
	waitWritable(t, clients)
	return clients
}

func waitWritable(t *testing.T, clients []string) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: clients, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		_, err := cli.Put(ctx, "/ready", "")
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("the etcd cluster never took a write: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
