//go:build soak

package main

import (
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"
)

// The soak test runs the real atrium serve for SOAK_DURATION (default
// 10m) with ordinary traffic from 127.0.0.1 and 127.0.1.x (LDAP binds,
// searches and paged listings, web logins, LDAP and CLI writes) and
// attacks from other loopback addresses beside it (a declared-length
// flood, stalled readers, one address hogging connections, an anonymous
// GET /login flood). It passes when no ordinary request failed, and
// resident memory, the database file and the open descriptors at the end
// are within a factor of what they were after the warm-up. Run it with
// `make soak`; SOAK_KEEP=FILE keeps a backup of the store at the end, to
// see what grew. The data held is measured as the size of a backup,
// which bbolt writes compacted; the file itself grows in steps that
// double.
func TestSoak(t *testing.T) {
	duration := 10 * time.Minute
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("SOAK_DURATION: %v", err)
		}
		duration = d
	}
	data := filepath.Join(t.TempDir(), "data")
	env := testEnv()
	srv := startServer(t, data, env, nil)
	s := &soak{srv: srv, data: data, env: env, until: time.Now().Add(duration), stats: map[string]*soakStats{}, attacked: map[string]int{}}
	s.seed(t)
	pid := srv.cmd.Process.Pid
	dbPath := filepath.Join(data, "atrium.db")
	start := s.measure(t, pid, dbPath)

	var wg sync.WaitGroup
	for name, work := range s.traffic() {
		wg.Go(func() { s.loop(name, work) })
	}
	for _, attack := range s.attacks() {
		wg.Go(attack)
	}
	time.Sleep(duration / 5)
	warm, warmAt := s.measure(t, pid, dbPath), time.Now()
	wg.Wait()
	time.Sleep(2 * time.Second) // the attackers' connections close
	end := s.measure(t, pid, dbPath)
	audited := s.auditedSince(t, warmAt)
	if k := os.Getenv("SOAK_KEEP"); k != "" {
		s.cli("", "backup", k)
	}
	kept := audited + 2*len(s.stats["web login"].latencies) // a session, and a flow until it expires
	s.report(t, duration, start, warm, end)
	t.Logf("%d events audited after the warm-up; attacks: %v", audited, s.attacked)

	if end.hwm > 2*warm.hwm {
		t.Errorf("peak resident memory grew from %d MiB after the warm-up to %d MiB", warm.hwm>>20, end.hwm>>20)
	}
	// The audit log keeps logins and changes, and each web login keeps a
	// session and its flow: the data may grow by those records and little
	// else, and the file, which doubles as it grows, to twice that.
	if allowed := warm.data + int64(kept)*recordBytes + 256<<10; end.data > allowed {
		t.Errorf("data grew from %.1f MiB after the warm-up to %.1f MiB, more than %d audit events, sessions and flows explain (%.1f MiB)",
			mib(warm.data), mib(end.data), kept, mib(allowed))
	}
	if allowed := 2 * (warm.file + int64(kept)*recordBytes); end.file > allowed {
		t.Errorf("database file grew from %.1f MiB after the warm-up to %.1f MiB, more than %.1f MiB", mib(warm.file), mib(end.file), mib(allowed))
	}
	if end.fds > 2*warm.fds+16 {
		t.Errorf("open descriptors grew from %d after the warm-up to %d", warm.fds, end.fds)
	}
	for _, name := range slices.Sorted(maps.Keys(s.stats)) {
		st := s.stats[name]
		if st.errors > 0 {
			t.Errorf("%s: %d of %d requests failed, first: %v", name, st.errors, st.errors+len(st.latencies), st.first)
		}
		if len(st.latencies) == 0 {
			t.Errorf("%s: no request succeeded", name)
		}
	}
	if !served(t, "ldap", "127.0.0.1", srv.ldapAddr) || !served(t, "http", "127.0.0.1", srv.httpAddr) {
		t.Errorf("atrium serve does not answer after the soak:\n%s", srv.log)
	}
	srv.stop(t)
}

// soak is one soak run: the server, its users and what was measured.
type soak struct {
	srv   *atriumServer
	data  string
	env   []string
	until time.Time

	mu       sync.Mutex
	stats    map[string]*soakStats
	attacked map[string]int // requests or connections each attack made
}

// recordBytes is what one audit event (about 250 bytes with its index),
// session or flow may add to the data.
const recordBytes = 512

// auditedSince counts the audit events since t, through the CLI.
func (s *soak) auditedSince(t *testing.T, since time.Time) int {
	out, err := s.cli("", "audit", "--since", time.Since(since).Round(time.Second).String())
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(out, "\n") - 1 // the heading
}

func (s *soak) attack(name string) {
	s.mu.Lock()
	s.attacked[name]++
	s.mu.Unlock()
}

const (
	soakUsers    = 200
	soakPassword = "Soak-password-"
)

func soakUID(i int) string { return fmt.Sprintf("soak%04d", i) }

// The bind accounts of the soak's searches and LDAP writes.
const (
	soakNAS    = "cn=nas,ou=services," + baseDN
	soakWriter = "cn=writer,ou=services," + baseDN
	soakNASPW  = "soak-nas-password"
	soakWrtPW  = "soak-writer-password"
)

// seed adds the bind accounts of the ordinary traffic through the CLI,
// and its users over LDAP.
func (s *soak) seed(t *testing.T) {
	for _, args := range [][]string{{"bind-account", "add", "nas", "--rights", "read", "--password-stdin"}, {"bind-account", "add", "writer", "--rights", "admin", "--password-stdin"}, {"group", "add", "soakers"}} {
		stdin := map[string]string{"nas": soakNASPW + "\n", "writer": soakWrtPW + "\n"}[args[2]]
		if _, err := s.cli(stdin, args...); err != nil {
			t.Fatal(err)
		}
	}
	c, err := s.dial("127.0.0.1", soakWriter, soakWrtPW)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range soakUsers {
		uid := soakUID(i)
		req := ldap.NewAddRequest(userDN(uid), nil)
		req.Attribute("objectClass", []string{"inetOrgPerson", "posixAccount"})
		req.Attribute("cn", []string{"Soak " + uid})
		req.Attribute("sn", []string{uid})
		req.Attribute("mail", []string{uid + "@example.com"})
		req.Attribute("userPassword", []string{soakPassword + uid})
		if err := c.Add(req); err != nil {
			t.Fatalf("add %s: %v", uid, err)
		}
	}
}

// soakStats are the outcomes of one kind of ordinary request.
type soakStats struct {
	latencies []time.Duration
	errors    int
	first     error
}

func (s *soak) record(name string, d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats[name]
	if st == nil {
		st = &soakStats{}
		s.stats[name] = st
	}
	if err != nil {
		st.errors++
		if st.first == nil {
			st.first = err
		}
		return
	}
	st.latencies = append(st.latencies, d)
}

// loop runs one kind of ordinary request until the soak ends, with a
// short pause between requests so that the run leaves the machine
// usable.
func (s *soak) loop(name string, work func(i int) error) {
	for i := 0; time.Now().Before(s.until); i++ {
		began := time.Now()
		err := work(i)
		s.record(name, time.Since(began), err)
		time.Sleep(5 * time.Millisecond)
	}
}

// soakSample is what the server holds at one moment.
type soakSample struct {
	rss, hwm, file int64
	data           int64 // the size of a backup
	fds            int
}

func (s *soak) measure(t *testing.T, pid int, dbPath string) soakSample {
	var out soakSample
	backup := filepath.Join(t.TempDir(), "measure.db")
	if _, err := s.cli("", "backup", backup); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(backup); err == nil {
		out.data = fi.Size()
	}
	if status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			name, value, _ := strings.Cut(line, ":")
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
			switch name {
			case "VmRSS":
				out.rss = kb << 10
			case "VmHWM":
				out.hwm = kb << 10
			}
		}
	}
	if fi, err := os.Stat(dbPath); err == nil {
		out.file = fi.Size()
	}
	if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		out.fds = len(fds)
	}
	return out
}

// report logs throughput and p99 of each kind of request, and memory,
// file size and descriptors at the start, after the warm-up and at the
// end.
func (s *soak) report(t *testing.T, duration time.Duration, start, warm, end soakSample) {
	var b strings.Builder
	fmt.Fprintf(&b, "soak of %v\n%-14s %10s %10s %8s\n", duration, "request", "per second", "p99", "errors")
	for _, name := range slices.Sorted(maps.Keys(s.stats)) {
		st := s.stats[name]
		slices.Sort(st.latencies)
		p99 := time.Duration(0)
		if n := len(st.latencies); n > 0 {
			p99 = st.latencies[n*99/100]
		}
		fmt.Fprintf(&b, "%-14s %10.1f %10v %8d\n", name, float64(len(st.latencies))/duration.Seconds(), p99.Round(100*time.Microsecond), st.errors)
	}
	fmt.Fprintf(&b, "%-14s %10s %10s %10s %10s %6s\n", "", "RSS MiB", "peak MiB", "file MiB", "data MiB", "fds")
	for _, row := range []struct {
		name string
		v    soakSample
	}{{"start", start}, {"after warm-up", warm}, {"end", end}} {
		fmt.Fprintf(&b, "%-14s %10.1f %10.1f %10.1f %10.1f %6d\n", row.name, mib(row.v.rss), mib(row.v.hwm), mib(row.v.file), mib(row.v.data), row.v.fds)
	}
	t.Log(b.String())
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// dial connects to LDAP from the loopback address local and binds.
func (s *soak) dial(local, dn, pw string) (*ldap.Conn, error) {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 10 * time.Second}
	c, err := ldap.DialURL("ldap://"+s.srv.ldapAddr, ldap.DialWithDialer(d))
	if err != nil {
		return nil, err
	}
	c.SetTimeout(20 * time.Second)
	if dn != "" {
		if err := c.Bind(dn, pw); err != nil {
			c.Close()
			return nil, fmt.Errorf("bind %s: %w", dn, err)
		}
	}
	return c, nil
}
