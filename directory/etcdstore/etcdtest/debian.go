package etcdtest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// StartDebian runs a three-member cluster of the etcd program Debian
// ships (etcd-server, 3.4 in Debian 12), stopped with SIGKILL when the
// test ends, and returns its client URLs once it takes writes. Without
// the program the test is skipped (failed under CI).
func StartDebian(t *testing.T) []string { return StartProcesses(t).Endpoints }

// Processes is a cluster whose members are child processes of Debian's
// etcd, each of which can be killed with SIGKILL and started again.
type Processes struct {
	// Endpoints are the members' client URLs, by member.
	Endpoints []string
	t         *testing.T
	mu        sync.Mutex
	cmds      []*exec.Cmd
	args      [][]string
	bin       string
	env       []string // added to the environment of each member
	tls       *TLSFiles
	split     *split // peer proxies; nil when peers talk directly
}

// StartProcesses is StartDebian returning the members' processes.
func StartProcesses(t *testing.T) *Processes { return startProcesses(t, nil) }

// StartDebianTLS is StartProcesses with TLS between the members and to
// their clients, as a production cluster runs: each member has the server
// certificate of files and asks peers and clients for a certificate from
// its CA (--client-cert-auth, --trusted-ca-file and the --peer- ones).
func StartDebianTLS(t *testing.T, files TLSFiles) *Processes { return startProcesses(t, &files) }

func startProcesses(t *testing.T, files *TLSFiles) *Processes {
	return startMembers(&Processes{t: t, bin: debianEtcd(t), tls: files})
}

func debianEtcd(t *testing.T) string { return testenv.Tool(t, "etcd", "etcd-server") }

// startMembers starts three members of p.bin, given etcd's flags.
func startMembers(p *Processes) *Processes {
	t, files := p.t, p.tls
	dir := t.TempDir()
	var peers, initial []string
	for i := range 3 {
		peer, client := FreeURL(), FreeURL()
		if peer == nil || client == nil {
			t.Fatal("no free loopback port")
		}
		if files != nil {
			peer.Scheme, client.Scheme = "https", "https"
		}
		peers, p.Endpoints = append(peers, peer.String()), append(p.Endpoints, client.String())
		initial = append(initial, fmt.Sprintf("m%d=%s", i, peer))
	}
	advertise := peers
	if p.split != nil {
		advertise, initial = p.split.listen(t, peers), nil
		for i, u := range advertise {
			initial = append(initial, fmt.Sprintf("m%d=%s", i, u))
		}
	}
	for i := range 3 {
		p.args = append(p.args, append([]string{
			"--name", fmt.Sprintf("m%d", i), "--data-dir", filepath.Join(dir, strconv.Itoa(i)),
			"--listen-peer-urls", peers[i], "--initial-advertise-peer-urls", advertise[i],
			"--listen-client-urls", p.Endpoints[i], "--advertise-client-urls", p.Endpoints[i],
			"--initial-cluster", strings.Join(initial, ","), "--initial-cluster-state", "new",
			"--initial-cluster-token", "debian-" + filepath.Base(dir),
			"--heartbeat-interval", "10", "--election-timeout", "100",
			"--logger", "zap", "--log-level", "error"}, tlsFlags(files)...))
	}
	p.cmds = make([]*exec.Cmd, 3)
	for i := range 3 {
		p.Start(i)
	}
	waitWritable(t, p.Endpoints, files)
	if p.split != nil {
		p.learnIDs()
	}
	return p
}

func tlsFlags(f *TLSFiles) []string {
	if f == nil {
		return nil
	}
	return []string{
		"--cert-file", f.ServerCert, "--key-file", f.ServerKey, "--client-cert-auth", "--trusted-ca-file", f.CA,
		"--peer-cert-file", f.ServerCert, "--peer-key-file", f.ServerKey, "--peer-client-cert-auth", "--peer-trusted-ca-file", f.CA,
	}
}

// Start starts member i, anew or again on its data directory.
func (p *Processes) Start(i int) {
	cmd := exec.Command(p.bin, p.args[i]...)
	if p.env != nil {
		cmd.Env = append(os.Environ(), p.env...)
	}
	out := &testenv.Output{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.cmds[i] = cmd
	p.mu.Unlock()
	p.t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if p.t.Failed() {
			p.t.Logf("etcd m%d (pid %d) said:\n%s", i, cmd.Process.Pid, out)
		}
	})
}

// Kill sends SIGKILL to member i's process and waits for it to die.
func (p *Processes) Kill(i int) {
	p.mu.Lock()
	cmd := p.cmds[i]
	p.mu.Unlock()
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		p.t.Fatal(err)
	}
	cmd.Wait()
}

// Leader is the index of the member that leads the cluster, asked of
// the members other than skip (-1 for none).
func (p *Processes) Leader(ctx context.Context, skip int) int {
	cli := client(p.t, p.Endpoints, p.tls)
	defer cli.Close()
	for ctx.Err() == nil {
		ids := map[uint64]int{}
		var leader uint64
		for i, ep := range p.Endpoints {
			if i == skip {
				continue
			}
			one, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
			st, err := cli.Status(one, ep)
			cancel()
			if err != nil {
				continue
			}
			ids[st.Header.MemberId], leader = i, st.Leader
		}
		if i, ok := ids[leader]; ok && leader != 0 {
			return i
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatal("no leader among the etcd members")
	return -1
}

// client connects to the members, with the client certificate of files
// when they serve TLS.
func client(t *testing.T, endpoints []string, files *TLSFiles) *clientv3.Client {
	cfg := clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	if files != nil {
		tlsCfg, err := transport.TLSInfo{TrustedCAFile: files.CA, CertFile: files.ClientCert, KeyFile: files.ClientKey}.ClientConfig()
		if err != nil {
			t.Fatal(err)
		}
		cfg.TLS = tlsCfg
	}
	cli, err := clientv3.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

func waitWritable(t *testing.T, clients []string, files *TLSFiles) {
	cli := client(t, clients, files)
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
