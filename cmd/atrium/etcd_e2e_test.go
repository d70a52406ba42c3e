package main

import (
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory/etcdstore/etcdtest"
	"github.com/atrium-dir/atrium/internal/testenv"
)

// The tests in this file run Atrium nodes, each the real binary with its
// own data directory (the same secret.key), on one etcd cluster of three
// members: run in this process (embed), or of Debian's etcd 3.4.

// etcdNodes is a cluster and the flags that put a command on it.
type etcdNodes struct {
	cluster   *etcdtest.Cluster // nil for Debian's etcd
	endpoints []string          // the members' client URLs
	stop      func(member int)  // stops a member: gracefully in this process, SIGKILL for Debian's
	flags     []string
	env       []string
	tr        *transcript
}

// startEtcdNodes starts a cluster in this process.
func startEtcdNodes(t *testing.T) *etcdNodes {
	t.Helper()
	c, err := etcdtest.Start(t.TempDir(), 3)
	t.Cleanup(c.Close)
	if err != nil {
		t.Fatal(err)
	}
	n := nodesOn(c.Endpoints)
	n.cluster, n.stop = c, c.StopMember
	return n
}

// startDebianNodes starts a cluster of Debian's etcd (failing under CI
// when it is missing).
func startDebianNodes(t *testing.T) *etcdNodes {
	t.Helper()
	p := etcdtest.StartProcesses(t)
	n := nodesOn(p.Endpoints)
	n.stop = p.Kill
	return n
}

// onBothClusters runs test on a cluster in this process and on one of
// Debian's etcd, as subtests Embedded and Debian, side by side: most of
// their time is spent waiting out time-outs and elections.
func onBothClusters(t *testing.T, test func(*testing.T, *etcdNodes)) {
	t.Run("Embedded", func(t *testing.T) { t.Parallel(); test(t, startEtcdNodes(t)) })
	t.Run("Debian", func(t *testing.T) { t.Parallel(); test(t, startDebianNodes(t)) })
}

// nodesOn puts nodes on the cluster at endpoints.
func nodesOn(endpoints []string) *etcdNodes {
	return &etcdNodes{
		endpoints: endpoints,
		flags:     []string{"--store", "etcd", "--etcd-endpoints", strings.Join(endpoints, ","), "--etcd-prefix", "/corp"},
		env:       testEnv("ATRIUM_ETCD_REQUEST_TIMEOUT=1s"),
		tr:        &transcript{},
	}
}

// node is a data directory for one more node; with from, its secret.key
// is copied from there, as an admin installs a second node.
func (n *etcdNodes) node(t *testing.T, from *cli) *cli {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	if from != nil {
		key, err := os.ReadFile(filepath.Join(from.data, "secret.key"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(data, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(data, "secret.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return &cli{data: data, env: n.env, tr: n.tr}
}

// ok runs an atrium command with the cluster's flags.
func (n *etcdNodes) ok(t *testing.T, c *cli, stdin string, args ...string) string {
	t.Helper()
	return c.okIn(t, stdin, append(args, n.flags...)...)
}

func (n *etcdNodes) serve(t *testing.T, c *cli) *atriumServer {
	t.Helper()
	return startServer(t, c.data, n.env, n.tr, n.flags...)
}

// ldapConn is a connection to addr bound as dn.
func ldapConn(t *testing.T, addr, dn, pw string) *ldap.Conn {
	t.Helper()
	conn, err := ldap.DialURL("ldap://"+addr, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetTimeout(10 * time.Second)
	if err := conn.Bind(dn, pw); err != nil {
		t.Fatalf("bind as %s: %v", dn, err)
	}
	return conn
}

func searchUID(conn *ldap.Conn, uid string) (int, error) {
	res, err := conn.Search(ldap.NewSearchRequest("ou=people,"+baseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(uid="+ldap.EscapeFilter(uid)+")", []string{"uid"}, nil))
	if err != nil {
		return 0, err
	}
	return len(res.Entries), nil
}

// TestTwoNodesOnEtcd: a user created by node A's CLI, with no node
// running there, is found by an LDAP search on node B; after A changes
// her password, B refuses the old one at the very next bind, although it
// had verified and cached it. On a cluster in this process and on one of
// Debian's etcd 3.4.
func TestTwoNodesOnEtcd(t *testing.T) {
	onBothClusters(t, twoNodesOnEtcd)
}

func twoNodesOnEtcd(t *testing.T, n *etcdNodes) {
	a := n.node(t, nil)
	n.ok(t, a, "reader password 1\n", "bind-account", "add", "reader", "--password-stdin")
	b := n.node(t, a)
	nodeB := n.serve(t, b)
	reader := ldapConn(t, nodeB.ldapAddr, "cn=reader,ou=services,"+baseDN, "reader password 1")

	n.ok(t, a, "alice password 1\n", "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	// A search reads B's copy, which follows the cluster's watch: allow
	// for the watch's delivery, not for a poll of the cluster.
	deadline := time.Now().Add(5 * time.Second)
	for {
		found, err := searchUID(reader, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if found == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node B's LDAP search never found the user node A created")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for range 2 { // the second bind is answered from B's bind cache
		mustBind(t, nodeB.ldapAddr, userDN("alice"), "alice password 1")
	}

	nodeA := n.serve(t, a)
	n.ok(t, a, "alice password 2\n", "user", "passwd", "alice", "--password-stdin") // through node A's admin socket
	mustNotBind(t, nodeB.ldapAddr, userDN("alice"), "alice password 1")
	mustBind(t, nodeB.ldapAddr, userDN("alice"), "alice password 2")
	mustBind(t, nodeA.ldapAddr, userDN("alice"), "alice password 2")

	// Audit and backoff records keep arriving from both nodes for a moment,
	// so the lag is asked for again until B has caught up.
	var body []byte
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, err := http.Get("http://" + nodeB.httpAddr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "mirror_lag: 0") || time.Now().After(deadline) {
			break
		}
	}
	for _, want := range []string{"ok\n", "etcd: reachable", "mirror_lag: 0"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("node B /healthz lacks %q:\n%s", want, body)
		}
	}
}

// TestEtcdNodeWithOtherKeyRefusesToStart: a node whose secret.key is not
// the cluster's says so: a command does nothing, and serve does not start.
func TestEtcdNodeWithOtherKeyRefusesToStart(t *testing.T) {
	n := startEtcdNodes(t)
	a := n.node(t, nil)
	srv := n.serve(t, a) // first start: seals the SAML signing key
	srv.stop(t)
	stranger := n.node(t, nil) // a fresh secret.key of its own
	for _, args := range [][]string{
		{"user", "list"},
		{"serve", "--ldap-addr", testenv.FreeAddr(t), "--ldaps-addr", testenv.FreeAddr(t), "--http-addr", testenv.FreeAddr(t)},
	} {
		r := stranger.run(t, "", append(args, n.flags...)...)
		if r.code == exitOK || !strings.Contains(r.stderr, "secret.key") || !strings.Contains(r.stderr, "same key") {
			t.Fatalf("atrium %s with another secret.key: exit %d, stderr %q; want a refusal naming secret.key", args[0], r.code, r.stderr)
		}
	}
}

// TestEtcdQuorumLoss: with two of three members down, node B goes on
// answering searches and binds from its copy, refuses an LDAP write with
// unavailable (52), a web sign-in (which stores its session) with 503,
// reports itself degraded, and the CLI says plainly that nothing was
// changed. On a cluster in this process (members stopped) and on one of
// Debian's etcd (members killed with SIGKILL).
func TestEtcdQuorumLoss(t *testing.T) { onBothClusters(t, etcdQuorumLoss) }

func etcdQuorumLoss(t *testing.T, n *etcdNodes) {
	a := n.node(t, nil)
	n.ok(t, a, "alice password 1\n", "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	b := n.node(t, a)
	nodeB := n.serve(t, b)

	n.stop(1)
	n.stop(2)
	conn := ldapConn(t, nodeB.ldapAddr, userDN("alice"), "alice password 1")
	if found, err := searchUID(conn, "alice"); err != nil || found != 1 {
		t.Fatalf("search without quorum: %d entries, %v", found, err)
	}
	_, err := conn.PasswordModify(ldap.NewPasswordModifyRequest("", "alice password 1", "violet harbor 42"))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultUnavailable) {
		t.Fatalf("password change without quorum: %v, want unavailable (52)", err)
	}
	// A web sign-in writes its session into the cluster: the password is
	// checked against B's copy, and the sign-in is refused with 503.
	if status, page := trySignIn(t, "http://"+nodeB.httpAddr, "alice", "alice password 1"); status != http.StatusServiceUnavailable {
		t.Errorf("web sign-in without quorum: %d, want 503:\n%s", status, page)
	}
	resp, err := http.Get("http://" + nodeB.httpAddr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.HasPrefix(string(body), "degraded\n") {
		t.Errorf("/healthz without quorum: %s %q, want 503 degraded", resp.Status, body)
	}
	for deadline := time.Now().Add(3 * healthEvery); !strings.Contains(nodeB.log.String(), "etcd cluster lost"); {
		if time.Now().After(deadline) {
			t.Fatalf("node B never logged the lost quorum:\n%s", nodeB.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := b.run(t, "", append([]string{"user", "disable", "alice"}, n.flags...)...)
	if r.code != exitUnavailable || !strings.Contains(r.stderr, "nothing was changed") {
		t.Errorf("CLI write without quorum: exit %d, stderr %q; want exit %d and a plain message", r.code, r.stderr, exitUnavailable)
	}
}

// TestEtcdOverTLS: a node reaches a cluster that serves clients over TLS
// and asks for a client certificate (--client-cert-auth with
// --trusted-ca-file), with --etcd-ca, --etcd-cert and --etcd-key, both
// for commands and for serve; without a client certificate, or with one
// from another CA, it is refused with a plain message. On a cluster in
// this process and on one of Debian's etcd (TLS between members too).
func TestEtcdOverTLS(t *testing.T) {
	t.Run("Embedded", func(t *testing.T) {
		t.Parallel()
		files := tlsFiles(t)
		c, err := etcdtest.StartTLS(t.TempDir(), 3, files)
		t.Cleanup(c.Close)
		if err != nil {
			t.Fatal(err)
		}
		etcdOverTLS(t, c.Endpoints, files)
	})
	t.Run("Debian", func(t *testing.T) {
		t.Parallel()
		files := tlsFiles(t)
		etcdOverTLS(t, etcdtest.StartDebianTLS(t, files).Endpoints, files)
	})
}

func tlsFiles(t *testing.T) etcdtest.TLSFiles {
	t.Helper()
	files, err := etcdtest.WriteTLSFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func etcdOverTLS(t *testing.T, endpoints []string, files etcdtest.TLSFiles) {
	n := nodesOn(endpoints)
	a := n.node(t, nil)
	stranger := tlsFiles(t) // certificates from another CA
	refusedCert := "refuses this node's client certificate"
	for name, c := range map[string]struct {
		flags []string
		want  string
	}{
		"without a client certificate":            {[]string{"--etcd-ca", files.CA}, refusedCert},
		"with a client certificate of another CA": {[]string{"--etcd-ca", files.CA, "--etcd-cert", stranger.ClientCert, "--etcd-key", stranger.ClientKey}, refusedCert},
		"trusting another CA":                     {[]string{"--etcd-ca", stranger.CA, "--etcd-cert", files.ClientCert, "--etcd-key", files.ClientKey}, "is not trusted"},
	} {
		r := a.run(t, "", append(append([]string{"user", "list"}, c.flags...), n.flags...)...)
		if r.code == exitOK || !strings.Contains(r.stderr, "etcd: no member of https://127.0.0.1") || !strings.Contains(r.stderr, c.want) {
			t.Errorf("%s: exit %d, stderr %q; want a plain refusal naming the cluster and saying %q", name, r.code, r.stderr, c.want)
		}
	}
	n.flags = append(n.flags, "--etcd-ca", files.CA, "--etcd-cert", files.ClientCert, "--etcd-key", files.ClientKey)
	n.ok(t, a, "alice password 1\n", "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	if out := n.ok(t, a, "", "user", "list"); !strings.Contains(out, "alice") {
		t.Errorf("user list over TLS: %q", out)
	}
	srv := n.serve(t, n.node(t, a))
	mustBind(t, srv.ldapAddr, userDN("alice"), "alice password 1")
}

// trySignIn submits uid's password on base's login page from a new
// client and returns the answer.
func trySignIn(t *testing.T, base, uid, pw string) (int, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second}
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, string(body)
	}
	return mfaSubmit(t, c, base, string(body), url.Values{"username": {uid}, "password": {pw}})
}

// startLogin opens a new browser-like client and submits uid's password
// on base's login page; it returns the client and the page that asks
// for the second factor.
func startLogin(t *testing.T, base, uid, pw string) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil) // cookies ignore ports: node B gets node A's
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	status, page := mfaSubmit(t, c, base, string(body), url.Values{"username": {uid}, "password": {pw}})
	if status != http.StatusOK || !strings.Contains(page, `name="code"`) {
		t.Fatalf("expected the second-factor form after the password, got %d:\n%s", status, page)
	}
	return c, page
}

// TestWebLoginAcrossNodes: a web login whose password step was made on
// node B is finished on node A, and the session works on B; the TOTP
// code used for it on A is refused when offered again on B. On both
// clusters.
func TestWebLoginAcrossNodes(t *testing.T) { onBothClusters(t, webLoginAcrossNodes) }

func webLoginAcrossNodes(t *testing.T, n *etcdNodes) {
	oathtool := testenv.Tool(t, "oathtool", "oathtool")
	n.env = append(n.env, "ATRIUM_MFA_REQUIRE=all")
	a := n.node(t, nil)
	n.ok(t, a, "alice password 1\n", "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	b := n.node(t, a)
	nodeA, nodeB := n.serve(t, a), n.serve(t, b)
	baseA, baseB := "http://"+nodeA.httpAddr, "http://"+nodeB.httpAddr
	secret := mfaEnrollAtLogin(t, baseA, "alice", "alice password 1")
	// The enrollment used this step's code: take the next step's, which
	// the skew of one step accepts.
	out, err := exec.Command(oathtool, "--totp", "-b", secret, "-N", "now + 30 seconds").Output()
	if err != nil {
		t.Fatalf("oathtool: %v", err)
	}
	code := strings.TrimSpace(string(out))

	c, page := startLogin(t, baseB, "alice", "alice password 1")
	status, home := mfaSubmit(t, c, baseA, page, url.Values{"code": {code}})
	if status != http.StatusOK || strings.Contains(home, `name="password"`) || strings.Contains(home, `name="code"`) {
		t.Fatalf("finishing on A the login started on B: %d\n%s", status, home)
	}
	resp, err := c.Get(baseB + "/")
	if err != nil {
		t.Fatal(err)
	}
	onB, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(onB), `name="password"`) {
		t.Errorf("the session made on A, on B: %s\n%s", resp.Status, onB)
	}

	c, page = startLogin(t, baseB, "alice", "alice password 1")
	if status, again := mfaSubmit(t, c, baseB, page, url.Values{"code": {code}}); !strings.Contains(again, `name="code"`) {
		t.Errorf("the code used on A, offered again on B: %d, not asked again:\n%s", status, again)
	}
}
