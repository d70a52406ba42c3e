package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/internal/testenv"
	ldap "github.com/go-ldap/ldap/v3"
)

// The tests in this file build the real atrium binary once and drive it as
// a subprocess: every directory command once on a bare data directory (the
// command opens the bbolt file itself) and once with `atrium serve`
// running on it (the command goes through DATA/admin.sock).

// atriumBin is the binary under test, built by TestMain.
var atriumBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "atrium-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	atriumBin = filepath.Join(dir, "atrium")
	build := exec.Command("go", "build", "-o", atriumBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build atrium:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// testEnv is the environment of every subprocess: this one without any
// ATRIUM_ setting, with cheap password hashing, plus extra.
func testEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ATRIUM_") {
			env = append(env, kv)
		}
	}
	env = append(env, "ATRIUM_TEST_FAST_HASH=1")
	return append(env, extra...)
}

// transcript keeps everything the commands and servers of one test
// printed, so the test can count where each secret was shown.
type transcript struct {
	mu    sync.Mutex
	parts []string
}

func (tr *transcript) add(s string) {
	tr.mu.Lock()
	tr.parts = append(tr.parts, s)
	tr.mu.Unlock()
}

func (tr *transcript) count(s string) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, p := range tr.parts {
		n += strings.Count(p, s)
	}
	return n
}

// cli runs atrium commands on one data directory.
type cli struct {
	data   string
	env    []string
	tr     *transcript
	served bool // an atrium serve runs on data
}

type cliResult struct {
	stdout, stderr string
	code           int
}

// run runs atrium with args and --data, stdin on a pipe (never a terminal).
func (c *cli) run(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, atriumBin, append(slices.Clone(args), "--data", c.data)...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	c.tr.add(stdout.String())
	c.tr.add(stderr.String())
	r := cliResult{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else if err != nil {
		t.Fatalf("atrium %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// ok runs a command that must succeed and returns its standard output.
func (c *cli) ok(t *testing.T, args ...string) string {
	t.Helper()
	return c.okIn(t, "", args...)
}

func (c *cli) okIn(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	r := c.run(t, stdin, args...)
	if r.code != exitOK {
		t.Fatalf("atrium %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs a command that must exit with code and returns its result.
func (c *cli) fails(t *testing.T, code int, args ...string) cliResult {
	t.Helper()
	return c.failsIn(t, "", code, args...)
}

func (c *cli) failsIn(t *testing.T, stdin string, code int, args ...string) cliResult {
	t.Helper()
	r := c.run(t, stdin, args...)
	if r.code != code {
		t.Fatalf("atrium %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	return r
}

// fresh is a cli on a new, empty data directory, sharing the transcript.
func (c *cli) fresh(t *testing.T) *cli {
	return &cli{data: filepath.Join(t.TempDir(), "data"), env: c.env, tr: c.tr}
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
	return v
}

// The JSON shapes the commands print, as an outside script reads them.
type (
	userRecord struct {
		ID              string   `json:"id"`
		UID             string   `json:"uid"`
		Mail            string   `json:"mail"`
		GivenName       string   `json:"givenName"`
		Surname         string   `json:"sn"`
		DisplayName     string   `json:"displayName"`
		UIDNumber       int      `json:"uidNumber"`
		GIDNumber       int      `json:"gidNumber"`
		HomeDirectory   string   `json:"homeDirectory"`
		LoginShell      string   `json:"loginShell"`
		Disabled        bool     `json:"disabled"`
		Groups          []string `json:"groups"`
		EffectiveGroups []string `json:"effectiveGroups"`
	}
	groupRecord struct {
		ID          string   `json:"id"`
		CN          string   `json:"cn"`
		Description string   `json:"description"`
		GIDNumber   int      `json:"gidNumber"`
		Users       []string `json:"users"`
		Groups      []string `json:"groups"`
	}
	auditRecord struct {
		Time    time.Time `json:"time"`
		Kind    string    `json:"kind"`
		Subject string    `json:"subject"`
		Service string    `json:"service"`
		Result  string    `json:"result"`
		Detail  string    `json:"detail"`
	}
	bindAccountRecord struct {
		Name   string   `json:"name"`
		Rights []string `json:"rights"`
	}
	appPasswordRecord struct {
		Name    string    `json:"name"`
		Created time.Time `json:"created"`
	}
)

func findUser(users []userRecord, uid string) (userRecord, bool) {
	for _, u := range users {
		if u.UID == uid {
			return u, true
		}
	}
	return userRecord{}, false
}

// assertNoSecretFields fails if JSON output carries anything like a
// password or hash, at any depth.
func assertNoSecretFields(t *testing.T, out string) {
	t.Helper()
	if strings.Contains(out, "$argon2") || strings.Contains(out, "{SSHA}") || strings.Contains(out, "{CRYPT}") {
		t.Errorf("output holds a password hash:\n%s", out)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				lk := strings.ToLower(k)
				if (strings.Contains(lk, "password") && lk != "passwordchanged") || strings.Contains(lk, "hash") || strings.Contains(lk, "secret") || lk == "nt" {
					t.Errorf("output has a secret field %q:\n%s", k, out)
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(decodeJSON[any](t, out))
}

// tableColumn returns the column at which header word starts in a table's
// first line; a value of any row starts there too when the table lines up.
func tableColumn(t *testing.T, table, word string) int {
	t.Helper()
	header, _, _ := strings.Cut(table, "\n")
	i := strings.Index(header, word)
	if i < 0 {
		t.Fatalf("table header %q has no %s", header, word)
	}
	return i
}

// tableRow returns the line of a table whose first cell is key.
func tableRow(t *testing.T, table, key string) string {
	t.Helper()
	for line := range strings.Lines(table) {
		if f := strings.Fields(line); len(f) > 0 && f[0] == key {
			return strings.TrimRight(line, "\n")
		}
	}
	t.Fatalf("table has no row %s:\n%s", key, table)
	return ""
}

// cell is what stands in row from column col to the next double space.
func cell(row string, col int) string {
	if col >= len(row) {
		return ""
	}
	v, _, _ := strings.Cut(row[col:], "  ")
	return strings.TrimSpace(v)
}

// field returns the value of "name:" in key-value output.
func field(t *testing.T, out, name string) string {
	t.Helper()
	for line := range strings.Lines(out) {
		if k, v, ok := strings.Cut(line, ":"); ok && k == name {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no field %q in:\n%s", name, out)
	return ""
}

var (
	generatedRE   = regexp.MustCompile(`Generated password for (\S+) \(shown once\): (\S+)\n`)
	appPasswordRE = regexp.MustCompile(`App password "([^"]+)" for (\S+) \(shown once\): (\S+)\n`)
)

// generated returns the password a command printed for who.
func generated(t *testing.T, out, who string) string {
	t.Helper()
	m := generatedRE.FindAllStringSubmatch(out, -1)
	if len(m) != 1 || m[0][1] != who {
		t.Fatalf("want one generated password for %s, got:\n%s", who, out)
	}
	if len(m[0][2]) < 16 {
		t.Errorf("generated password %q is short", m[0][2])
	}
	return m[0][2]
}

// atriumServer is one `atrium serve` subprocess.
type atriumServer struct {
	cmd                           *exec.Cmd
	log                           *testenv.Output
	tr                            *transcript
	ldapAddr, ldapsAddr, httpAddr string
	exited                        chan struct{}
	err                           error // how it exited, once exited is closed
}

// startServer runs atrium serve on data with free ports and waits until
// it is ready. tr, when not nil, receives the log when it stops.
func startServer(t *testing.T, data string, env []string, tr *transcript, extra ...string) *atriumServer {
	t.Helper()
	return startServerAt(t, data, env, tr, func(httpAddr string) string { return "http://" + httpAddr }, extra...)
}

// startServerAt is startServer with the external URL made from the HTTP
// listener's address by externalURL. When a port picked was taken before
// the server bound it, it starts again on other ports, its log kept (a
// first start shows its password before it listens).
func startServerAt(t *testing.T, data string, env []string, tr *transcript, externalURL func(httpAddr string) string, extra ...string) *atriumServer {
	t.Helper()
	var earlier string
	for attempt := 1; ; attempt++ {
		s := launchServer(t, data, env, tr, earlier, externalURL, extra...)
		err := s.waitReady()
		if err == nil {
			return s
		}
		if attempt < 3 && strings.Contains(s.log.String(), "address already in use") {
			earlier = s.log.String()
			continue
		}
		t.Fatalf("%v:\n%s", err, s.log)
	}
}

// launchServer starts atrium serve on data with free ports; its log starts
// with earlier.
func launchServer(t *testing.T, data string, env []string, tr *transcript, earlier string, externalURL func(httpAddr string) string, extra ...string) *atriumServer {
	t.Helper()
	s := &atriumServer{log: &testenv.Output{}, tr: tr, exited: make(chan struct{}),
		ldapAddr: testenv.FreeAddr(t), ldapsAddr: testenv.FreeAddr(t), httpAddr: testenv.FreeAddr(t)}
	s.log.Write([]byte(earlier))
	args := []string{"serve", "--data", data, "--ldap-addr", s.ldapAddr, "--ldaps-addr", s.ldapsAddr,
		"--http-addr", s.httpAddr, "--external-url", externalURL(s.httpAddr)}
	s.cmd = exec.Command(atriumBin, append(args, extra...)...)
	s.cmd.Env = env
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	return s
}

// waitReady waits until /healthz answers and "atrium ready" is logged (the
// listeners answer before that line, which tests read).
func (s *atriumServer) waitReady() error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("atrium serve exited before it was healthy (%v)", s.err)
		default:
		}
		if resp, err := client.Get("http://" + s.httpAddr + "/healthz"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.HasPrefix(string(body), "ok\n") && // etcd nodes add lines
				strings.Contains(s.log.String(), "atrium ready") {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("atrium serve not healthy after 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends SIGTERM and expects a clean exit within a few seconds.
func (s *atriumServer) stop(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		t.Fatalf("atrium serve still running 5s after SIGTERM:\n%s", s.log)
	}
	if s.tr != nil {
		s.tr.add(s.log.String())
	}
	if s.err != nil {
		t.Fatalf("atrium serve after SIGTERM: %v (want exit 0):\n%s", s.err, s.log)
	}
}

const baseDN = "dc=example,dc=com"

func userDN(uid string) string { return "uid=" + uid + ",ou=people," + baseDN }

// bindLDAP makes one simple bind on a new connection.
func bindLDAP(t *testing.T, addr, dn, pw string) error {
	t.Helper()
	conn, err := ldap.DialURL("ldap://"+addr, ldap.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}))
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	// Generous: with the real hash cost (the crash tests) on a loaded CI
	// machine, the niced hash workers get little CPU. Speed is measured by
	// the benchmarks, not here.
	conn.SetTimeout(30 * time.Second)
	return conn.Bind(dn, pw)
}

func mustBind(t *testing.T, addr, dn, pw string) {
	t.Helper()
	if err := bindLDAP(t, addr, dn, pw); err != nil {
		t.Errorf("bind as %s: %v", dn, err)
	}
}

func mustNotBind(t *testing.T, addr, dn, pw string) {
	t.Helper()
	if err := bindLDAP(t, addr, dn, pw); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("bind as %s: got %v, want invalid credentials", dn, err)
	}
}

// suiteState is what runCommandSuite leaves behind: the secrets it set,
// to be tried over LDAP, and the names it needs from step to step.
type suiteState struct {
	alice   string // alicia's password (alice was renamed)
	bob     string // generated
	nas     string // bind account cn=nas
	laptop  string // alicia's app password
	phone   string // alicia's revoked app password
	aliceID string // alice's entryUUID
	// stdin were given on standard input and must never be printed;
	// shownOnce were generated and must be printed exactly once.
	stdin, shownOnce []string
}

// runCommandSuite drives every directory command on c, in steps that build
// on each other. It works the same whether or not a server runs on c.data.
func runCommandSuite(t *testing.T, c *cli) *suiteState {
	s := &suiteState{alice: "correct horse battery staple", nas: "nas-bind-secret-2718"}
	s.stdin = append(s.stdin, s.alice, s.nas)
	for _, step := range []func(*testing.T, *cli, *suiteState){
		userCommands, groupCommands, credentialCommands, auditCommands, backupCommands, exportCommands,
	} {
		step(t, c, s)
	}
	return s
}

// userCommands covers user add, list, show, passwd, disable and enable.
func userCommands(t *testing.T, c *cli, s *suiteState) {
	t.Run("user add --password-stdin reads one line", func(t *testing.T) {
		out := c.okIn(t, s.alice+"\nthis second line is not read\n", "user", "add", "alice", "--mail", "alice@example.com",
			"--given", "Alice", "--sn", "Liddell", "--name", "Alice Liddell", "--uid-number", "20001", "--gid-number", "20001",
			"--shell", "/bin/zsh", "--home", "/srv/alice", "--password-stdin")
		if !strings.Contains(out, "Created user alice (uidNumber 20001, entryUUID ") {
			t.Errorf("user add printed:\n%s", out)
		}
		if strings.Contains(out, "Generated password") {
			t.Errorf("user add --password-stdin generated a password:\n%s", out)
		}
	})

	t.Run("user add without a terminal generates a password and prints it once", func(t *testing.T) {
		out := c.ok(t, "user", "add", "bob", "--mail", "bob@example.com")
		s.bob = generated(t, out, "bob")
		s.shownOnce = append(s.shownOnce, s.bob)
	})

	t.Run("user add refuses a bad or missing password on stdin", func(t *testing.T) {
		r := c.failsIn(t, "", exitUsage, "user", "add", "carol", "--mail", "carol@example.com", "--password-stdin")
		if !strings.Contains(r.stderr, "no password on standard input") {
			t.Errorf("stderr: %s", r.stderr)
		}
		r = c.failsIn(t, "tiny7\n", exitInvalid, "user", "add", "carol", "--mail", "carol@example.com", "--password-stdin")
		if !strings.Contains(r.stderr, "at least 8 characters") {
			t.Errorf("stderr: %s", r.stderr)
		}
		c.fails(t, exitNotFound, "user", "show", "carol")
	})

	t.Run("uid is unique without regard to case", func(t *testing.T) {
		dup := "duplicate-user-password"
		s.stdin = append(s.stdin, dup)
		r := c.failsIn(t, dup+"\n", exitExists, "user", "add", "ALICE", "--mail", "alice2@example.com", "--password-stdin")
		if !strings.Contains(r.stderr, `uid "alice" is taken`) {
			t.Errorf("stderr: %s", r.stderr)
		}
		c.failsIn(t, dup+"\n", exitExists, "user", "add", "alice2", "--mail", "ALICE@example.com", "--password-stdin")
		u := decodeJSON[userRecord](t, c.ok(t, "user", "show", "ALICE", "--json"))
		if u.UID != "alice" {
			t.Errorf("user show ALICE found %q", u.UID)
		}
	})

	t.Run("user list", func(t *testing.T) {
		raw := c.ok(t, "user", "list", "--json")
		assertNoSecretFields(t, raw)
		users := decodeJSON[[]userRecord](t, raw)
		a, ok := findUser(users, "alice")
		if !ok {
			t.Fatalf("user list --json has no alice:\n%s", raw)
		}
		want := userRecord{ID: a.ID, UID: "alice", Mail: "alice@example.com", GivenName: "Alice", Surname: "Liddell", DisplayName: "Alice Liddell",
			UIDNumber: 20001, GIDNumber: 20001, HomeDirectory: "/srv/alice", LoginShell: "/bin/zsh"}
		if a.ID == "" || fmt.Sprint(a) != fmt.Sprint(want) {
			t.Errorf("alice in user list --json:\n got %+v\nwant %+v", a, want)
		}
		if _, ok := findUser(users, "bob"); !ok {
			t.Errorf("user list --json has no bob")
		}
		for _, u := range users {
			if strings.EqualFold(u.UID, "alice2") || u.UID == "ALICE" || u.UID == "carol" {
				t.Errorf("a refused user was created: %+v", u)
			}
		}

		table := c.ok(t, "user", "list")
		row := tableRow(t, table, "alice")
		for col, want := range map[string]string{"MAIL": "alice@example.com", "NAME": "Alice Liddell", "UIDNUMBER": "20001", "GIDNUMBER": "20001", "STATUS": "active"} {
			if got := cell(row, tableColumn(t, table, col)); got != want {
				t.Errorf("user list: %s of alice is %q, want %q\n%s", col, got, want, table)
			}
		}
	})

	t.Run("user show", func(t *testing.T) {
		raw := c.ok(t, "user", "show", "alice", "--json")
		assertNoSecretFields(t, raw)
		u := decodeJSON[userRecord](t, raw)
		if u.UID != "alice" || u.Mail != "alice@example.com" || u.UIDNumber != 20001 || u.ID == "" {
			t.Errorf("user show --json: %+v", u)
		}
		s.aliceID = u.ID
		out := c.ok(t, "user", "show", "alice")
		for name, want := range map[string]string{"uid": "alice", "name": "Alice Liddell", "uidNumber": "20001", "shell": "/bin/zsh", "status": "active", "entryUUID": s.aliceID} {
			if got := field(t, out, name); got != want {
				t.Errorf("user show: %s is %q, want %q", name, got, want)
			}
		}
		c.fails(t, exitNotFound, "user", "show", "nobody")
	})

	t.Run("user passwd", func(t *testing.T) {
		s.alice = "a-new-alice-password"
		s.stdin = append(s.stdin, s.alice)
		out := c.okIn(t, s.alice+"\r\nnot read either\n", "user", "passwd", "alice", "--password-stdin")
		if strings.TrimSpace(out) != "Password of alice changed" {
			t.Errorf("user passwd printed:\n%s", out)
		}
		out = c.ok(t, "user", "passwd", "bob")
		s.bob = generated(t, out, "bob")
		s.shownOnce = append(s.shownOnce, s.bob)
		c.failsIn(t, "tiny7\n", exitInvalid, "user", "passwd", "bob", "--password-stdin")
		c.failsIn(t, "long-enough-password\n", exitNotFound, "user", "passwd", "nobody", "--password-stdin")
	})

	t.Run("user disable and enable", func(t *testing.T) {
		c.ok(t, "user", "disable", "bob")
		if u := decodeJSON[userRecord](t, c.ok(t, "user", "show", "bob", "--json")); !u.Disabled {
			t.Errorf("bob not disabled: %+v", u)
		}
		table := c.ok(t, "user", "list")
		if got := cell(tableRow(t, table, "bob"), tableColumn(t, table, "STATUS")); got != "disabled" {
			t.Errorf("user list shows bob %q, want disabled", got)
		}
		c.ok(t, "user", "enable", "bob")
		if u := decodeJSON[userRecord](t, c.ok(t, "user", "show", "bob", "--json")); u.Disabled {
			t.Errorf("bob still disabled: %+v", u)
		}
		c.fails(t, exitNotFound, "user", "disable", "nobody")
	})
}

// groupCommands covers groups, nesting and user rename.
func groupCommands(t *testing.T, c *cli, s *suiteState) {
	t.Run("groups nest with group:CN and refuse cycles", func(t *testing.T) {
		g := decodeJSON[groupRecord](t, c.ok(t, "group", "add", "staff", "--description", "All staff", "--gid-number", "30000", "--json"))
		if g.CN != "staff" || g.GIDNumber != 30000 || g.Description != "All staff" || g.ID == "" {
			t.Errorf("group add --json: %+v", g)
		}
		if out := c.ok(t, "group", "add", "devs"); !strings.HasPrefix(out, "Created group devs (gidNumber ") {
			t.Errorf("group add printed:\n%s", out)
		}
		c.fails(t, exitExists, "group", "add", "STAFF")
		c.ok(t, "group", "add-member", "devs", "alice", "bob")
		c.ok(t, "group", "add-member", "staff", "group:devs")

		r := c.fails(t, exitConflict, "group", "add-member", "devs", "group:staff")
		if !strings.Contains(r.stderr, "cycle") {
			t.Errorf("a cycle was refused with: %s", r.stderr)
		}
		r = c.fails(t, exitConflict, "group", "add-member", "devs", "group:devs")
		if !strings.Contains(r.stderr, "cannot contain itself") {
			t.Errorf("a self-membership was refused with: %s", r.stderr)
		}
		c.fails(t, exitNotFound, "group", "add-member", "devs", "nobody")
		c.fails(t, exitNotFound, "group", "add-member", "devs", "group:nogroup")

		staff := decodeJSON[groupRecord](t, c.ok(t, "group", "show", "staff", "--json"))
		if !slices.Equal(staff.Groups, []string{"devs"}) || len(staff.Users) != 0 {
			t.Errorf("group show staff --json: %+v", staff)
		}
		devs := decodeJSON[groupRecord](t, c.ok(t, "group", "show", "devs", "--json"))
		if slices.Sort(devs.Users); !slices.Equal(devs.Users, []string{"alice", "bob"}) || len(devs.Groups) != 0 {
			t.Errorf("group show devs --json: %+v", devs)
		}
		if got := field(t, c.ok(t, "group", "show", "staff"), "groups"); got != "group:devs" {
			t.Errorf("group show staff lists groups %q, want group:devs", got)
		}
		u := decodeJSON[userRecord](t, c.ok(t, "user", "show", "alice", "--json"))
		if slices.Sort(u.EffectiveGroups); !slices.Equal(u.Groups, []string{"devs"}) || !slices.Equal(u.EffectiveGroups, []string{"devs", "staff"}) {
			t.Errorf("alice is in %v, effectively %v; want [devs], [devs staff]", u.Groups, u.EffectiveGroups)
		}

		groups := decodeJSON[[]groupRecord](t, c.ok(t, "group", "list", "--json"))
		var names []string
		for _, g := range groups {
			names = append(names, g.CN)
		}
		if !slices.Contains(names, "staff") || !slices.Contains(names, "devs") {
			t.Errorf("group list --json: %v", names)
		}
		table := c.ok(t, "group", "list")
		row := tableRow(t, table, "staff")
		for col, want := range map[string]string{"GIDNUMBER": "30000", "MEMBERS": "1", "DESCRIPTION": "All staff"} {
			if got := cell(row, tableColumn(t, table, col)); got != want {
				t.Errorf("group list: %s of staff is %q, want %q\n%s", col, got, want, table)
			}
		}

		c.ok(t, "group", "remove-member", "devs", "bob")
		devs = decodeJSON[groupRecord](t, c.ok(t, "group", "show", "devs", "--json"))
		if !slices.Equal(devs.Users, []string{"alice"}) {
			t.Errorf("after remove-member bob, devs has %v", devs.Users)
		}
		c.ok(t, "group", "add", "temporary")
		c.ok(t, "group", "delete", "temporary")
		c.fails(t, exitNotFound, "group", "show", "temporary")
		c.fails(t, exitNotFound, "group", "delete", "temporary")
	})

	t.Run("user rename keeps entryUUID and memberships", func(t *testing.T) {
		out := c.ok(t, "user", "rename", "alice", "alicia")
		if !strings.Contains(out, "Renamed alice to alicia (entryUUID "+s.aliceID+" unchanged)") {
			t.Errorf("user rename printed:\n%s", out)
		}
		u := decodeJSON[userRecord](t, c.ok(t, "user", "show", "alicia", "--json"))
		if u.ID != s.aliceID || u.UIDNumber != 20001 || !slices.Equal(u.Groups, []string{"devs"}) {
			t.Errorf("after rename: %+v, want entryUUID %s in devs", u, s.aliceID)
		}
		c.fails(t, exitNotFound, "user", "show", "alice")
		c.fails(t, exitExists, "user", "rename", "alicia", "BOB")
		devs := decodeJSON[groupRecord](t, c.ok(t, "group", "show", "devs", "--json"))
		if !slices.Equal(devs.Users, []string{"alicia"}) {
			t.Errorf("devs lists %v after the rename", devs.Users)
		}
	})
}

// credentialCommands covers bind accounts, app passwords and user delete.
func credentialCommands(t *testing.T, c *cli, s *suiteState) {
	t.Run("bind-account", func(t *testing.T) {
		out := c.okIn(t, s.nas+"\nnot read\n", "bind-account", "add", "nas", "--rights", "read,samba", "--password-stdin")
		if !strings.Contains(out, "Created bind account nas (read,samba): bind DN cn=nas,ou=services,"+baseDN) || strings.Contains(out, "Generated") {
			t.Errorf("bind-account add printed:\n%s", out)
		}
		out = c.ok(t, "bind-account", "add", "backup-bot")
		s.shownOnce = append(s.shownOnce, generated(t, out, "backup-bot"))
		c.failsIn(t, "another-long-password\n", exitExists, "bind-account", "add", "NAS", "--password-stdin")
		c.failsIn(t, "another-long-password\n", exitInvalid, "bind-account", "add", "bad", "--rights", "read,everything", "--password-stdin")

		raw := c.ok(t, "bind-account", "list", "--json")
		assertNoSecretFields(t, raw)
		accounts := decodeJSON[[]bindAccountRecord](t, raw)
		got := map[string]string{}
		for _, a := range accounts {
			got[a.Name] = strings.Join(a.Rights, ",")
		}
		if fmt.Sprint(got) != fmt.Sprint(map[string]string{"backup-bot": "read", "nas": "read,samba"}) {
			t.Errorf("bind-account list --json: %v", got)
		}
		table := c.ok(t, "bind-account", "list")
		if dn := cell(tableRow(t, table, "nas"), tableColumn(t, table, "BIND DN")); dn != "cn=nas,ou=services,"+baseDN {
			t.Errorf("bind-account list shows bind DN %q\n%s", dn, table)
		}
		c.ok(t, "bind-account", "delete", "backup-bot")
		if strings.Contains(c.ok(t, "bind-account", "list"), "backup-bot") {
			t.Errorf("backup-bot still listed after delete")
		}
		c.fails(t, exitNotFound, "bind-account", "delete", "backup-bot")
	})

	t.Run("app-password", func(t *testing.T) {
		secretOf := func(out, name string) string {
			t.Helper()
			m := appPasswordRE.FindStringSubmatch(out)
			if m == nil || m[1] != name || m[2] != "alicia" {
				t.Fatalf("app-password add printed:\n%s", out)
			}
			return m[3]
		}
		s.laptop = secretOf(c.ok(t, "app-password", "add", "alicia", "laptop"), "laptop")
		s.phone = secretOf(c.ok(t, "app-password", "add", "alicia", "phone"), "phone")
		s.shownOnce = append(s.shownOnce, s.laptop, s.phone)
		c.fails(t, exitExists, "app-password", "add", "alicia", "LAPTOP")
		c.fails(t, exitNotFound, "app-password", "add", "nobody", "laptop")

		raw := c.ok(t, "app-password", "list", "alicia", "--json")
		assertNoSecretFields(t, raw)
		var names []string
		for _, ap := range decodeJSON[[]appPasswordRecord](t, raw) {
			names = append(names, ap.Name)
			if ap.Created.IsZero() {
				t.Errorf("app password %s has no creation time", ap.Name)
			}
		}
		if !slices.Equal(names, []string{"laptop", "phone"}) {
			t.Errorf("app-password list --json: %v", names)
		}
		table := c.ok(t, "app-password", "list", "alicia")
		if got := cell(tableRow(t, table, "phone"), tableColumn(t, table, "LAST USED")); got != "never" {
			t.Errorf("app-password list: phone last used %q, want never\n%s", got, table)
		}

		c.ok(t, "app-password", "revoke", "alicia", "phone")
		if strings.Contains(c.ok(t, "app-password", "list", "alicia"), "phone") {
			t.Errorf("phone still listed after revoke")
		}
		c.fails(t, exitNotFound, "app-password", "revoke", "alicia", "phone")
	})

	t.Run("user delete", func(t *testing.T) {
		pw := "dave-has-a-password"
		s.stdin = append(s.stdin, pw)
		c.okIn(t, pw+"\n", "user", "add", "dave", "--mail", "dave@example.com", "--password-stdin")
		c.ok(t, "group", "add-member", "devs", "dave")
		c.ok(t, "user", "delete", "dave")
		c.fails(t, exitNotFound, "user", "show", "dave")
		c.fails(t, exitNotFound, "user", "delete", "dave")
		if devs := decodeJSON[groupRecord](t, c.ok(t, "group", "show", "devs", "--json")); slices.Contains(devs.Users, "dave") {
			t.Errorf("deleted dave is still in devs: %v", devs.Users)
		}
		// The uid and mail are free again.
		c.okIn(t, pw+"\n", "user", "add", "dave", "--mail", "dave@example.com", "--password-stdin")
		c.ok(t, "user", "delete", "dave")
	})
}

// auditCommands covers audit of the changes made so far.
func auditCommands(t *testing.T, c *cli, s *suiteState) {
	t.Run("audit lists administrative changes", func(t *testing.T) {
		raw := c.ok(t, "audit", "--since", "1h", "--json")
		events := decodeJSON[[]auditRecord](t, raw)
		want := map[string]bool{"alice user add": false, "alicia user rename alice": false, "staff group add": false, "alicia app-password revoke phone": false}
		for _, e := range events {
			if e.Kind != "admin" {
				continue
			}
			if e.Service != "cli" || e.Result != "ok" || time.Since(e.Time) > time.Hour {
				t.Errorf("admin event %+v", e)
			}
			if _, ok := want[e.Subject+" "+e.Detail]; ok {
				want[e.Subject+" "+e.Detail] = true
			}
		}
		for k, seen := range want {
			if !seen {
				t.Errorf("audit has no event %q:\n%s", k, raw)
			}
		}
		bobs := decodeJSON[[]auditRecord](t, c.ok(t, "audit", "--user", "BOB", "--since", "1h", "--json"))
		if len(bobs) == 0 {
			t.Errorf("audit --user BOB found nothing")
		}
		for _, e := range bobs {
			if e.Subject != "bob" {
				t.Errorf("audit --user BOB returned %+v", e)
			}
		}
		table := c.ok(t, "audit", "--user", "alicia")
		if !strings.HasPrefix(table, "TIME ") || !strings.Contains(table, "user rename alice") {
			t.Errorf("audit table:\n%s", table)
		}
		c.fails(t, exitUsage, "audit", "--since", "yesterday")
		// The console's filters: front end, kind and result.
		cliAdmin := decodeJSON[[]auditRecord](t, c.ok(t, "audit", "--service", "cli", "--kind", "admin", "--result", "ok", "--json"))
		if len(cliAdmin) == 0 {
			t.Errorf("audit --service cli --kind admin --result ok found nothing")
		}
		for _, e := range cliAdmin {
			if e.Service != "cli" || e.Kind != "admin" || e.Result != "ok" {
				t.Errorf("audit --service cli --kind admin --result ok returned %+v", e)
			}
		}
		if none := c.ok(t, "audit", "--app", "no-such-app", "--json"); strings.TrimSpace(none) != "[]" {
			t.Errorf("audit --app no-such-app: %s", none)
		}
	})
}

// backupCommands covers backup and restore.
func backupCommands(t *testing.T, c *cli, s *suiteState) {
	t.Run("backup and restore", func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "atrium.backup")
		if out := c.ok(t, "backup", file); !strings.HasPrefix(out, "Backed up ") {
			t.Errorf("backup printed:\n%s", out)
		}
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("backup file: %v, mode %v; want 0600", err, fi.Mode())
		}
		users, groups := c.ok(t, "user", "list", "--json"), c.ok(t, "group", "list", "--json")

		to := c.fresh(t)
		out := to.ok(t, "restore", file)
		if !strings.Contains(out, "Restored "+file+" into "+to.data) || !strings.Contains(out, "copy secret.key") {
			t.Errorf("restore printed:\n%s", out)
		}
		if got := to.ok(t, "user", "list", "--json"); got != users {
			t.Errorf("restored users differ:\n%s\nwant\n%s", got, users)
		}
		if got := to.ok(t, "group", "list", "--json"); got != groups {
			t.Errorf("restored groups differ:\n%s\nwant\n%s", got, groups)
		}
		if r := to.run(t, "", "restore", file); r.code == exitOK || !strings.Contains(r.stderr, "add --force") {
			t.Errorf("restore over a store without --force: exit %d, %s", r.code, r.stderr)
		}
		to.ok(t, "restore", file, "--force")
		to.ok(t, "user", "show", "alicia")

		junk := filepath.Join(dir, "junk")
		os.WriteFile(junk, []byte("not a database"), 0o600)
		if r := c.fresh(t).run(t, "", "restore", junk); r.code == exitOK || !strings.Contains(r.stderr, "not a usable backup") {
			t.Errorf("restore of a junk file: exit %d, %s", r.code, r.stderr)
		}

		// The live directory: without a server, --force is needed; under a
		// running server, even --force is refused.
		if c.served {
			if r := c.run(t, "", "restore", file, "--force"); r.code == exitOK || !strings.Contains(r.stderr, "a server is running") {
				t.Errorf("restore --force under a running server: exit %d, %s", r.code, r.stderr)
			}
		} else if r := c.run(t, "", "restore", file); r.code == exitOK || !strings.Contains(r.stderr, "add --force") {
			t.Errorf("restore over the live store without --force: exit %d, %s", r.code, r.stderr)
		}
	})

	if c.served {
		t.Run("backup while the server takes writes is a consistent copy", func(t *testing.T) {
			// Each app-password add is one transaction, so a consistent copy
			// holds churn-000 up to some churn-k, with no gap.
			stop, done := make(chan struct{}), make(chan error, 1)
			added := 0
			go func() {
				for ; ; added++ {
					select {
					case <-stop:
						done <- nil
						return
					default:
					}
					cmd := exec.Command(atriumBin, "app-password", "add", "bob", fmt.Sprintf("churn-%03d", added), "--data", c.data)
					cmd.Env = c.env
					out, err := cmd.CombinedOutput()
					c.tr.add(string(out))
					if err != nil {
						done <- fmt.Errorf("app-password add: %v: %s", err, out)
						return
					}
				}
			}()
			var files []string
			for i := range 3 {
				time.Sleep(30 * time.Millisecond)
				files = append(files, filepath.Join(t.TempDir(), fmt.Sprintf("backup-%d", i)))
				c.ok(t, "backup", files[i])
			}
			close(stop)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			for _, file := range files {
				to := c.fresh(t)
				to.ok(t, "restore", file)
				aps := decodeJSON[[]appPasswordRecord](t, to.ok(t, "app-password", "list", "bob", "--json"))
				for i, ap := range aps {
					if want := fmt.Sprintf("churn-%03d", i); ap.Name != want {
						t.Fatalf("backup %s holds app password %s at %d, want %s", file, ap.Name, i, want)
					}
				}
				if len(aps) > added {
					t.Errorf("backup %s holds %d app passwords, only %d were added", file, len(aps), added)
				}
				t.Logf("%s: %d of %d writes", filepath.Base(file), len(aps), added)
			}
			for i := range added {
				c.ok(t, "app-password", "revoke", "bob", fmt.Sprintf("churn-%03d", i))
			}
		})
	}
}

// exportCommands covers export and import.
func exportCommands(t *testing.T, c *cli, s *suiteState) {
	t.Run("export and import", func(t *testing.T) {
		dir := t.TempDir()
		plain, secret := filepath.Join(dir, "plain.ldif"), filepath.Join(dir, "secret.ldif")
		c.ok(t, "export", plain)
		c.ok(t, "export", "--with-secrets", secret)
		text, _ := os.ReadFile(plain)
		for _, want := range []string{"dn: " + userDN("alicia"), "entryUUID: " + s.aliceID, "dn: cn=staff,ou=groups," + baseDN} {
			if !bytes.Contains(text, []byte(want)) {
				t.Errorf("export has no %q", want)
			}
		}
		if bytes.Contains(text, []byte("userPassword")) {
			t.Errorf("export without --with-secrets holds password hashes")
		}
		if withSecrets, _ := os.ReadFile(secret); !bytes.Contains(withSecrets, []byte("userPassword")) {
			t.Errorf("export --with-secrets holds no password hash")
		}

		users, groups := c.ok(t, "user", "list", "--json"), c.ok(t, "group", "list", "--json")
		nUsers, nGroups := len(decodeJSON[[]userRecord](t, users)), len(decodeJSON[[]groupRecord](t, groups))
		to := c.fresh(t)
		out := to.ok(t, "import", plain)
		if want := fmt.Sprintf("Imported %d users, %d groups, 0 password hashes", nUsers, nGroups); !strings.Contains(out, want) {
			t.Errorf("import printed %q, want %q", out, want)
		}
		// Without hashes there is no password, so no passwordChanged.
		if got, want := comparable(t, to.ok(t, "user", "list", "--json"), ""), comparable(t, users, ""); got != want {
			t.Errorf("imported users differ:\n%s\nwant\n%s", got, want)
		}
		if got := to.ok(t, "group", "list", "--json"); got != groups {
			t.Errorf("imported groups differ:\n%s\nwant\n%s", got, groups)
		}
		if r := to.run(t, "", "import", plain); r.code == exitOK || !strings.Contains(r.stderr, "nothing was imported") {
			t.Errorf("a second import of the same file: exit %d, %s", r.code, r.stderr)
		}

		to = c.fresh(t)
		out = to.ok(t, "import", secret)
		if want := fmt.Sprintf("%d password hashes", nUsers); !strings.Contains(out, want) {
			t.Errorf("import of the export with secrets printed %q, want %q", out, want)
		}
		// LDIF keeps the day of the last password change (shadowLastChange).
		if got, want := comparable(t, to.ok(t, "user", "list", "--json"), time.DateOnly), comparable(t, users, time.DateOnly); got != want {
			t.Errorf("users imported with secrets differ:\n%s\nwant\n%s", got, want)
		}
	})
}

// comparable is the JSON of a user list with passwordChanged cut to
// layout, or left out when layout is empty.
func comparable(t *testing.T, users, layout string) string {
	t.Helper()
	list := decodeJSON[[]map[string]any](t, users)
	for _, u := range list {
		if pc, ok := u["passwordChanged"].(string); ok {
			if layout == "" {
				delete(u, "passwordChanged")
			} else if at, err := time.Parse(time.RFC3339Nano, pc); err == nil {
				u["passwordChanged"] = at.Format(layout)
			}
		}
	}
	out, _ := json.MarshalIndent(list, "", "  ")
	return string(out)
}

// checkOverLDAP tries the secrets of the suite against a server on c.data,
// and the commands that must take effect on a running server at once.
func checkOverLDAP(t *testing.T, c *cli, srv *atriumServer, s *suiteState) {
	addr := srv.ldapAddr
	t.Run("printed and stdin passwords bind over LDAP", func(t *testing.T) {
		mustBind(t, addr, userDN("alicia"), s.alice)
		mustBind(t, addr, userDN("bob"), s.bob)
		mustBind(t, addr, "cn=nas,ou=services,"+baseDN, s.nas)
		mustBind(t, addr, userDN("alicia"), s.laptop)
		mustNotBind(t, addr, userDN("alicia"), s.phone)
		mustNotBind(t, addr, userDN("alicia"), "not-alicias-password")
	})

	t.Run("revoke, disable and passwd take effect on a running server", func(t *testing.T) {
		m := appPasswordRE.FindStringSubmatch(c.ok(t, "app-password", "add", "alicia", "tablet"))
		if m == nil {
			t.Fatal("app-password add printed no password")
		}
		s.shownOnce = append(s.shownOnce, m[3])
		mustBind(t, addr, userDN("alicia"), m[3])
		c.ok(t, "app-password", "revoke", "alicia", "tablet")
		mustNotBind(t, addr, userDN("alicia"), m[3])

		c.ok(t, "user", "disable", "alicia")
		mustNotBind(t, addr, userDN("alicia"), s.alice)
		c.ok(t, "user", "enable", "alicia")
		mustBind(t, addr, userDN("alicia"), s.alice)

		old := s.alice
		s.alice = "alicias-third-password"
		s.stdin = append(s.stdin, s.alice)
		c.okIn(t, s.alice+"\n", "user", "passwd", "alicia", "--password-stdin")
		mustNotBind(t, addr, userDN("alicia"), old)
		mustBind(t, addr, userDN("alicia"), s.alice)
	})

	t.Run("audit --user --since shows failed and successful logins", func(t *testing.T) {
		raw := c.ok(t, "audit", "--user", "alicia", "--since", "1h", "--json")
		results := map[string]bool{}
		for _, e := range decodeJSON[[]auditRecord](t, raw) {
			if e.Kind == "login" && e.Service == "ldap" {
				results[e.Result+" "+e.Detail] = true
			}
		}
		for _, want := range []string{"ok password", "ok app-password:laptop", "bad-password ", "disabled "} {
			if !results[want] {
				t.Errorf("audit has no LDAP login %q:\n%s", want, raw)
			}
		}
		table := c.ok(t, "audit", "--user", "alicia", "--since", "1h")
		if !strings.Contains(table, "bad-password") || !strings.Contains(table, "login") {
			t.Errorf("audit table shows no failed login:\n%s", table)
		}
	})
}

// checkSecrets checks every output of the test, server logs included:
// passwords given on stdin never appear, generated ones appear exactly once.
func checkSecrets(t *testing.T, tr *transcript, s *suiteState) {
	t.Run("secrets are shown once or never", func(t *testing.T) {
		for _, pw := range s.stdin {
			if n := tr.count(pw); n != 0 {
				t.Errorf("password %q given on stdin was printed %d times", pw, n)
			}
		}
		for _, pw := range s.shownOnce {
			if n := tr.count(pw); n != 1 {
				t.Errorf("generated secret %q was printed %d times, want once", pw, n)
			}
		}
		if n := tr.count("$argon2"); n != 0 {
			t.Errorf("a password hash was printed %d times", n)
		}
	})
}

func TestCommandsWithoutServer(t *testing.T) {
	tr := &transcript{}
	c := &cli{data: filepath.Join(t.TempDir(), "data"), env: testEnv(), tr: tr}
	s := runCommandSuite(t, c)
	// Now prove over LDAP that what the commands wrote works.
	srv := startServer(t, c.data, c.env, tr)
	if strings.Contains(srv.log.String(), "first start") {
		t.Errorf("a server on a data directory with users created an admin:\n%s", srv.log)
	}
	c.served = true
	checkOverLDAP(t, c, srv, s)
	srv.stop(t)
	checkSecrets(t, tr, s)
}

func TestCommandsWithServer(t *testing.T) {
	tr := &transcript{}
	c := &cli{data: filepath.Join(t.TempDir(), "data"), env: testEnv(), tr: tr, served: true}
	srv := startServer(t, c.data, c.env, tr)
	s := runCommandSuite(t, c)
	checkOverLDAP(t, c, srv, s)
	if !strings.Contains(srv.log.String(), `msg="admin command" command="user add"`) {
		t.Errorf("the commands did not go through the admin socket; server log:\n%s", srv.log)
	}
	srv.stop(t)
	if _, err := os.Stat(filepath.Join(c.data, socketName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("admin socket left behind after a clean stop: %v", err)
	}
	checkSecrets(t, tr, s)
}

func TestServe(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	env := testEnv()
	c := &cli{data: data, env: env, tr: &transcript{}, served: true}
	srv := startServer(t, data, env, nil)
	var adminPW string

	t.Run("first start creates private files", func(t *testing.T) {
		fi, err := os.Stat(data)
		if err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("data directory: %v, mode %v; want 0700", err, fi.Mode().Perm())
		}
		entries, err := os.ReadDir(data)
		if err != nil {
			t.Fatal(err)
		}
		found := map[string]bool{}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			want := os.FileMode(0o600)
			if e.Name() == "tls.crt" {
				want = 0o644 // a certificate is public
			}
			if info.Mode().Perm() != want {
				t.Errorf("%s has mode %v, want %v", e.Name(), info.Mode().Perm(), want)
			}
			found[e.Name()] = true
		}
		for _, name := range []string{"atrium.db", "secret.key", "tls.key", "tls.crt", socketName} {
			if !found[name] {
				t.Errorf("first start did not create %s (found %v)", name, found)
			}
		}
	})

	t.Run("first start shows the admin password exactly once", func(t *testing.T) {
		log := srv.log.String()
		m := regexp.MustCompile(`password=([A-Za-z0-9]+)`).FindAllStringSubmatch(log, -1)
		if len(m) != 1 {
			t.Fatalf("want one admin password in the log, found %d:\n%s", len(m), log)
		}
		adminPW = m[0][1]
		if n := strings.Count(log, adminPW); n != 1 {
			t.Errorf("admin password appears %d times in the log", n)
		}
		mustBind(t, srv.ldapAddr, userDN("admin"), adminPW)
		admins := decodeJSON[groupRecord](t, c.ok(t, "group", "show", "admins", "--json"))
		if !slices.Equal(admins.Users, []string{"admin"}) {
			t.Errorf("admins group has %v, want [admin]", admins.Users)
		}
	})

	t.Run("ldaps serves the certificate in the data directory", func(t *testing.T) {
		pem, err := os.ReadFile(filepath.Join(data, "tls.crt"))
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			t.Fatal("tls.crt holds no certificate")
		}
		conn, err := ldap.DialURL("ldaps://"+srv.ldapsAddr, ldap.DialWithTLSConfig(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}))
		if err != nil {
			t.Fatalf("dial LDAPS: %v", err)
		}
		defer conn.Close()
		if err := conn.Bind(userDN("admin"), adminPW); err != nil {
			t.Errorf("bind over LDAPS: %v", err)
		}
	})

	t.Run("a second server on the same data directory is refused", func(t *testing.T) {
		r := (&cli{data: data, env: env, tr: c.tr}).run(t, "", "serve", "--ldap-addr", testenv.FreeAddr(t), "--ldaps-addr", testenv.FreeAddr(t), "--http-addr", testenv.FreeAddr(t))
		if r.code != exitLocked {
			t.Errorf("second serve: exit %d, want %d\n%s", r.code, exitLocked, r.stderr)
		}
	})

	start := time.Now()
	srv.stop(t)
	t.Logf("stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(data, socketName)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("admin socket left behind: %v", err)
	}

	t.Run("second start shows no password and serves the base DN of the flag", func(t *testing.T) {
		// Precedence: the file says one base DN, the environment another,
		// the flag a third; the flag wins.
		file := filepath.Join(t.TempDir(), "atrium.yaml")
		os.WriteFile(file, []byte("base_dn: dc=file,dc=test\n"), 0o600)
		srv := startServer(t, data, testEnv("ATRIUM_BASE_DN=dc=env,dc=test"), nil, "--config", file, "--base-dn", "dc=flag,dc=test")
		log := srv.log.String()
		if strings.Contains(log, "password=") || strings.Contains(log, adminPW) || strings.Contains(log, "first start") {
			t.Errorf("second start logged a password:\n%s", log)
		}
		if !strings.Contains(log, `base_dn="dc=flag,dc=test"`) {
			t.Errorf("log does not show base DN dc=flag,dc=test:\n%s", log)
		}
		mustBind(t, srv.ldapAddr, "uid=admin,ou=people,dc=flag,dc=test", adminPW)
		conn, err := ldap.DialURL("ldap://" + srv.ldapAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if err := conn.Bind("uid=admin,ou=people,dc=flag,dc=test", adminPW); err != nil {
			t.Fatal(err)
		}
		res, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 5, false, "(objectClass=*)", []string{"namingContexts"}, nil))
		if err != nil || len(res.Entries) != 1 {
			t.Fatalf("root DSE: %v", err)
		}
		if got := res.Entries[0].GetAttributeValue("namingContexts"); got != "dc=flag,dc=test" {
			t.Errorf("namingContexts is %q, want dc=flag,dc=test", got)
		}
		srv.stop(t)
	})
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	c := &cli{data: filepath.Join(dir, "data"), env: testEnv(), tr: &transcript{}}

	t.Run("every problem is reported at once", func(t *testing.T) {
		bad := write("bad.yaml", `base_dn: "not a dn"
ldap_addr: "localhost"
http_addr: ":99999"
external_url: "ftp://files.example.com"
log_format: "xml"
web:
  recent_sign_in: 0s
samba:
  netbios_names: [DISKSTATION, "not a name"]
  lockout_duration: 30s
`)
		r := c.fails(t, exitError, "config", "check", "--config", bad)
		for _, want := range []string{
			`problem: base_dn: "not a dn" is not a DN`,
			`problem: ldap_addr: "localhost" is not HOST:PORT`,
			`problem: http_addr: port "99999" is not a number from 0 to 65535`,
			`problem: external_url: "ftp://files.example.com" must be an http:// or https:// address`,
			`problem: log_format: "xml" must be text or json`,
			`problem: web.recent_sign_in: "0s" must be a duration from 1m to 24h`,
			`problem: samba.netbios_names: "not a name" must be a NetBIOS name`,
			`problem: samba: lockout_threshold must be 0 or more, lockout_duration and lockout_window at least 1m`,
		} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("config check does not report %q:\n%s", want, r.stdout)
			}
		}
		if !strings.Contains(r.stderr, "8 problem(s)") {
			t.Errorf("stderr: %s", r.stderr)
		}

		// serve refuses the same file with the same list, before touching
		// the data directory.
		r = c.run(t, "", "serve", "--config", bad)
		if r.code == exitOK || !strings.Contains(r.stderr, "base_dn") || !strings.Contains(r.stderr, "external_url") || !strings.Contains(r.stderr, "log_format") {
			t.Errorf("serve with a bad config: exit %d\n%s", r.code, r.stderr)
		}
		if _, err := os.Stat(c.data); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("serve with a bad config created the data directory")
		}
	})

	t.Run("an unknown key is refused", func(t *testing.T) {
		r := c.fails(t, exitError, "config", "check", "--config", write("typo.yaml", "base-dn: dc=example,dc=com\n"))
		if !strings.Contains(r.stderr, "base-dn") {
			t.Errorf("stderr: %s", r.stderr)
		}
	})

	t.Run("a good config passes", func(t *testing.T) {
		good := write("good.yaml", `base_dn: dc=good,dc=test
ldap_addr: 127.0.0.1:3389
ldaps_addr: ""
http_addr: :8080
external_url: https://id.good.test
ldap:
  anonymous: base
`)
		out := c.ok(t, "config", "check", "--config", good)
		if !strings.HasPrefix(out, "configuration OK\n") || !strings.Contains(out, "base_dn: dc=good,dc=test") || !strings.Contains(out, "anonymous: base") {
			t.Errorf("config check printed:\n%s", out)
		}
		raw := c.ok(t, "config", "check", "--config", good, "--json")
		if cfg := decodeJSON[Config](t, raw); cfg.BaseDN != "dc=good,dc=test" || cfg.LDAPSAddr != "" || cfg.LDAP.Anonymous != "base" {
			t.Errorf("config check --json: %+v", cfg)
		}
	})

	t.Run("defaults, then file, then environment, then flags", func(t *testing.T) {
		file := write("base.yaml", "base_dn: dc=file,dc=test\n")
		baseDNOf := func(t *testing.T, env []string, args ...string) string {
			t.Helper()
			out := (&cli{data: c.data, env: env, tr: c.tr}).ok(t, append([]string{"config", "check"}, args...)...)
			m := regexp.MustCompile(`(?m)^base_dn: (.*)$`).FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("config check shows no base_dn:\n%s", out)
			}
			return m[1]
		}
		env := testEnv("ATRIUM_BASE_DN=dc=env,dc=test")
		for _, tc := range []struct {
			name string
			env  []string
			args []string
			want string
		}{
			{"default", testEnv(), nil, "dc=example,dc=com"},
			{"file", testEnv(), []string{"--config", file}, "dc=file,dc=test"},
			{"file from ATRIUM_CONFIG", testEnv("ATRIUM_CONFIG=" + file), nil, "dc=file,dc=test"},
			{"environment over file", env, []string{"--config", file}, "dc=env,dc=test"},
			{"flag over environment", env, []string{"--config", file, "--base-dn", "dc=flag,dc=test"}, "dc=flag,dc=test"},
		} {
			if got := baseDNOf(t, tc.env, tc.args...); got != tc.want {
				t.Errorf("%s: base_dn %q, want %q", tc.name, got, tc.want)
			}
		}
	})
}
