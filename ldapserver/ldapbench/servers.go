package ldapbench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/ldapserver"
	"github.com/atrium-dir/atrium/ldif"
)

// Server is an LDAP server running as its own process.
type Server struct {
	Name string
	Addr string
	// Startup is the time from starting the process to its first answered
	// bind; StartRSS its resident memory once it has answered a search too.
	Startup  time.Duration
	StartRSS int64
	// Store is the database file or directory, for its size.
	Store  string
	cmd    *exec.Cmd
	stdin  io.Closer
	exited chan struct{}
}

// start starts cmd and notes when it ends.
func start(name string, cmd *exec.Cmd) (*Server, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	s := &Server{Name: name, cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(s.exited) }()
	return s, nil
}

// Memory returns the server's resident set size now and at its peak, and
// how much of it now is its own (anonymous) memory rather than pages of
// files it maps, such as the store.
func (s *Server) Memory() (rss, peak, anon int64) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0, 0
	}
	for line := range strings.Lines(string(raw)) {
		name, value, _ := strings.Cut(line, ":")
		kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch name {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			peak = kb << 10
		case "RssAnon":
			anon = kb << 10
		}
	}
	return rss, peak, anon
}

// CPUTime is the processor time (user and system) the server and its
// child processes (Atrium's password workers) have used, those it has
// reaped included.
func (s *Server) CPUTime() time.Duration {
	total := procCPU(s.cmd.Process.Pid, true)
	for _, child := range s.Children() {
		total += procCPU(child, false)
	}
	return total
}

// Children are the server's child processes running now.
func (s *Server) Children() []int {
	var pids []int
	pid := s.cmd.Process.Pid
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	for _, t := range tasks {
		raw, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		for _, c := range strings.Fields(string(raw)) {
			child, _ := strconv.Atoi(c)
			pids = append(pids, child)
		}
	}
	return pids
}

// procCPU is pid's processor time from /proc/PID/stat, with its reaped
// children's when reaped is set: utime, stime, cutime and cstime, the
// 14th to 17th fields, in clock ticks.
func procCPU(pid int, reaped bool) time.Duration {
	n := 2
	if reaped {
		n = 4
	}
	var ticks int64
	for i := range n {
		ticks += procStat(pid, 14+i)
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// MajorFaults is how many page faults of the server's process had to
// read from disk: pages of its store the kernel had dropped, which stop
// the thread that touches them until the read is done.
func (s *Server) MajorFaults() int64 { return procStat(s.cmd.Process.Pid, 12) } // majflt

// procStat is the numeric field at position field (counted from 1, as
// proc(5) does) of /proc/PID/stat, or 0 when it cannot be read.
func procStat(pid, field int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the parenthesised command name start at the 3rd.
	_, rest, _ := strings.Cut(string(raw), ") ")
	f := strings.Fields(rest)
	if field-3 >= len(f) {
		return 0
	}
	n, _ := strconv.ParseInt(f[field-3], 10, 64)
	return n
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times: 100 on every
// Linux architecture Go supports.
const clockTicks = 100

// Stop ends the process.
func (s *Server) Stop() {
	if s.stdin != nil {
		s.stdin.Close() // Atrium's end: it shuts down and writes its profile
		select {
		case <-s.exited:
			return
		case <-time.After(5 * time.Second):
		}
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}

// ServerCPU is where the servers run, one core each in turn; the load
// generator keeps to the other cores, so that it never takes CPU from the
// server it measures. On a one-core machine nothing is pinned.
const ServerCPU = 0

// pinned returns a command that runs on ServerCPU only.
func pinned(name string, args ...string) *exec.Cmd {
	if runtime.NumCPU() > 1 {
		if taskset, err := exec.LookPath("taskset"); err == nil {
			return exec.Command(taskset, append([]string{"-c", strconv.Itoa(ServerCPU), name}, args...)...)
		}
	}
	return exec.Command(name, args...)
}

// KeepOffServerCPU moves every thread of this process (and so the threads
// it starts later) off ServerCPU, and runs one P per core left: more Ps
// than cores would have the kernel time-slice them, and a response could
// sit unread for a slice and count as the server's latency.
func KeepOffServerCPU() error {
	if runtime.NumCPU() < 2 {
		return nil
	}
	var set unix.CPUSet
	for c := range runtime.NumCPU() {
		if c != ServerCPU {
			set.Set(c)
		}
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, _ := strconv.Atoi(t.Name())
		if err := unix.SchedSetaffinity(tid, &set); err != nil {
			return fmt.Errorf("pin thread %d: %w", tid, err)
		}
	}
	runtime.GOMAXPROCS(set.Count())
	return nil
}

// ready waits until addr answers a bind of the reader and a search, and
// returns when the bind was first answered.
func ready(addr string, d Dataset, exited <-chan struct{}) (time.Time, error) {
	deadline := time.Now().Add(60 * time.Second)
	var bound time.Time
	for {
		err := func() error {
			c, err := dial(addr)
			if err != nil {
				return err
			}
			defer c.Close()
			if err := expect(c.do(bindRequest(d.ReaderDN(), ReaderPassword))); err != nil {
				return err
			}
			if bound.IsZero() {
				bound = time.Now()
			}
			req, _ := searchRequest(d.Base, 2, "(uid="+d.UID(0)+")", "uid")
			return expect(c.do(req))
		}()
		if err == nil {
			return bound, nil
		}
		select {
		case <-exited:
			return bound, fmt.Errorf("server exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			return bound, err
		}
		time.Sleep(time.Millisecond)
	}
}

// ServeEnv names the environment variable that turns the benchmark binary
// into the Atrium server it measures: its value is the store to serve.
const ServeEnv = "ATRIUM_LDAPBENCH_STORE"

// StartAtrium starts exe (the benchmark's own binary, which calls Serve
// when ServeEnv is set) serving the store at path, on ServerCPU with
// GOMAXPROCS 1.
func StartAtrium(exe, path string, d Dataset) (*Server, error) {
	s, err := startGo("atrium", exe, d, ServeEnv+"="+path, "ATRIUM_LDAPBENCH_BASE="+d.Base)
	if err != nil {
		return nil, err
	}
	s.Store = path
	return s, nil
}

// startGo starts exe, the benchmark's binary, as the server its env
// selects, on ServerCPU with GOMAXPROCS 1, and waits until it answers.
// ATRIUM_LDAPBENCH_SERVER_ENV adds variables to the Go servers' own
// (GOGC=200 GODEBUG=gctrace=1, say), to try a runtime setting.
func startGo(name, exe string, d Dataset, env ...string) (*Server, error) {
	cmd := pinned(exe, "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "GOMAXPROCS=1"), env...)
	cmd.Env = append(cmd.Env, strings.Fields(os.Getenv("ATRIUM_LDAPBENCH_SERVER_ENV"))...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	began := time.Now()
	s, err := start(name, cmd)
	if err != nil {
		return nil, err
	}
	s.stdin = stdin
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("%s did not start: %w", name, err)
	}
	s.Addr = strings.TrimSpace(line)
	bound, err := ready(s.Addr, d, s.exited)
	if err != nil {
		s.Stop()
		return nil, err
	}
	s.Startup = bound.Sub(began)
	s.StartRSS, _, _ = s.Memory()
	return s, nil
}

// StartVariant starts another Atrium benchmark server on a copy of the
// store at path, with the variables in env added to its own (GOGC=200,
// say), to compare a runtime setting with Atrium's own in the same run.
func StartVariant(exe, dir, path string, d Dataset, env string) (*Server, error) {
	own, err := os.MkdirTemp(dir, "variant-")
	if err != nil {
		return nil, err
	}
	copied := filepath.Join(own, "atrium.db")
	if err := copyFile(copied, path); err != nil {
		return nil, err
	}
	s, err := startGo("atrium "+env, exe, d, append([]string{ServeEnv + "=" + copied, "ATRIUM_LDAPBENCH_BASE=" + d.Base}, strings.Fields(env)...)...)
	if err != nil {
		return nil, err
	}
	s.Store = copied
	return s, nil
}

// StartServe starts `atrium serve` (the command at exe) on a copy of the
// store at path, in a new data directory under dir, on ServerCPU with
// GOMAXPROCS 1, and waits until it answers: its Startup is the start-up
// an admin sees, with everything serve opens besides LDAP.
func StartServe(exe, dir, path string, d Dataset) (*Server, error) {
	data := filepath.Join(dir, "serve")
	if err := os.MkdirAll(data, 0o700); err != nil {
		return nil, err
	}
	if err := copyFile(filepath.Join(data, "atrium.db"), path); err != nil {
		return nil, err
	}
	// The key that sealed the store's secrets, when a command made it.
	key := filepath.Join(filepath.Dir(path), "secret.key")
	if _, err := os.Stat(key); err == nil {
		if err := copyFile(filepath.Join(data, "secret.key"), key); err != nil {
			return nil, err
		}
	}
	var addrs [3]string
	for i := range addrs {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addrs[i] = ln.Addr().String()
		ln.Close()
	}
	cmd := pinned(exe, "serve", "--data", data, "--base-dn", d.Base, "--ldap-addr", addrs[0], "--ldaps-addr", addrs[1],
		"--http-addr", addrs[2], "--external-url", "http://"+addrs[2])
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	began := time.Now()
	s, err := start("atrium serve", cmd)
	if err != nil {
		return nil, err
	}
	s.Addr, s.Store = addrs[0], filepath.Join(data, "atrium.db")
	bound, err := ready(s.Addr, d, s.exited)
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("atrium serve: %w\n%s", err, log.String())
	}
	s.Startup = bound.Sub(began)
	s.StartRSS, _, _ = s.Memory()
	return s, nil
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// StoreSize is the disk space the server's database takes: allocated
// blocks, since slapd's file is sparse up to its maxsize.
func (s *Server) StoreSize() int64 {
	var n int64
	filepath.WalkDir(s.Store, func(_ string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if info, err := e.Info(); err == nil {
				if st, ok := info.Sys().(*syscall.Stat_t); ok {
					n += st.Blocks * 512
				}
			}
		}
		return nil
	})
	return n
}

// Serve is the Atrium side of the benchmark: it serves the store named by
// ServeEnv on a loopback port, prints the address, and stops when stdin
// closes, with a line about its collections on stderr. It is what `atrium
// serve` does for LDAP, without the rest.
//
// With ATRIUM_LDAPBENCH_CPUPROFILE set it writes a CPU profile of the whole
// run there, for `go tool pprof`; with ATRIUM_LDAPBENCH_TRACE an execution
// trace, for `go tool trace` (GC pauses, scheduling delays); with
// ATRIUM_LDAPBENCH_MEMPROFILE the allocations of the run, written when it
// stops (`go tool pprof -sample_index=alloc_space`).
func Serve() error {
	ctx := context.Background()
	if path := os.Getenv("ATRIUM_LDAPBENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if path := os.Getenv("ATRIUM_LDAPBENCH_TRACE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return err
		}
		defer trace.Stop()
	}
	if path := os.Getenv("ATRIUM_LDAPBENCH_MEMPROFILE"); path != "" {
		defer func() {
			if f, err := os.Create(path); err == nil {
				pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
		}()
	}
	// As atrium serve: hashes in low-priority workers, which inherit
	// the server's CPU affinity.
	defer password.StartWorkers(slog.New(slog.NewTextHandler(os.Stderr, nil))).Close()
	store, err := boltstore.Open(os.Getenv(ServeEnv), 5*time.Second)
	if err != nil {
		return err
	}
	defer store.Close()
	dir, err := directory.New(ctx, store, directory.Options{})
	if err != nil {
		return err
	}
	defer dir.Close()
	warming := time.Now()
	if err := dir.Warm(ctx); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "atrium benchmark server: store warmed in %s\n", time.Since(warming).Round(time.Millisecond))
	layout, err := ldif.NewLayout(os.Getenv("ATRIUM_LDAPBENCH_BASE"))
	if err != nil {
		return err
	}
	srv := &ldapserver.Server{
		Backend: ldapserver.NewBackend(ldapserver.BackendConfig{Directory: dir, Layout: layout, Logger: slog.New(slog.DiscardHandler)}),
		// The load generator is every client at once, from one address;
		// connect-bind-unbind leaves more than the default 64 closing.
		Uncapped: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go srv.Serve(ln)
	fmt.Println(ln.Addr().String())
	io.Copy(io.Discard, os.Stdin)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "atrium benchmark server: %d collections, %s of pauses, %d MiB allocated in all, heap %d MiB at the end\n",
		ms.NumGC, time.Duration(ms.PauseTotalNs), ms.TotalAlloc>>20, ms.HeapAlloc>>20)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

// ErrNoSlapd means OpenLDAP's server is not installed.
var ErrNoSlapd = errors.New("slapd is not installed (apt-get install slapd)")

const (
	slapdPath   = "/usr/sbin/slapd"
	slapaddPath = "/usr/sbin/slapadd"
	schemaDir   = "/etc/ldap/schema"
	moduleDir   = "/usr/lib/ldap"
)

// StartSlapd loads d into a new mdb database under dir with slapadd and
// starts Debian's slapd on it, on ServerCPU, with the indexes and the
// thread count the issue names.
func StartSlapd(dir string, d Dataset) (*Server, error) {
	for _, p := range []string{slapdPath, slapaddPath, filepath.Join(schemaDir, "nis.schema")} {
		if _, err := os.Stat(p); err != nil {
			return nil, ErrNoSlapd
		}
	}
	conf, db, err := writeSlapdConf(dir, d)
	if err != nil {
		return nil, err
	}
	ldifPath := filepath.Join(dir, "data.ldif")
	f, err := os.Create(ldifPath)
	if err != nil {
		return nil, err
	}
	err = d.WriteLDIF(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	if out, err := exec.Command(slapaddPath, "-q", "-f", conf, "-l", ldifPath).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("slapadd: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := pinned(slapdPath, "-f", conf, "-h", "ldap://"+addr+"/", "-d", "0")
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	began := time.Now()
	s, err := start("slapd", cmd)
	if err != nil {
		return nil, err
	}
	s.Addr = addr
	bound, err := ready(addr, d, s.exited)
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("slapd: %w\n%s", err, log.String())
	}
	s.Startup = bound.Sub(began)
	s.StartRSS, _, _ = s.Memory()
	s.Store = db
	return s, nil
}

// writeSlapdConf writes dir/slapd.conf for an mdb database in dir/db with
// the indexes the issue names, and returns both paths.
func writeSlapdConf(dir string, d Dataset) (conf, db string, err error) {
	db = filepath.Join(dir, "db")
	if err := os.MkdirAll(db, 0o700); err != nil {
		return "", "", err
	}
	conf = filepath.Join(dir, "slapd.conf")
	var c strings.Builder
	for _, s := range []string{"core", "cosine", "nis", "inetorgperson"} {
		fmt.Fprintf(&c, "include %s/%s.schema\n", schemaDir, s)
	}
	// Unlimited, as Atrium: the paged listing reads every user. Four
	// threads, as the comparison ran it.
	c.WriteString("sizelimit unlimited\nthreads 4\n")
	fmt.Fprintf(&c, "modulepath %s\nmoduleload back_mdb\npidfile %s/slapd.pid\nargsfile %s/slapd.args\n", moduleDir, dir, dir)
	fmt.Fprintf(&c, "database mdb\nmaxsize 4294967296\nsuffix %q\nrootdn %q\ndirectory %s\n", d.Base, "cn=admin,"+d.Base, db)
	c.WriteString("index objectClass eq\nindex uid eq\nindex member eq\nindex memberUid eq\n")
	c.WriteString("access to attrs=userPassword by anonymous auth by * none\naccess to * by users read by * none\n")
	if err := os.WriteFile(conf, []byte(c.String()), 0o600); err != nil {
		return "", "", err
	}
	return conf, db, nil
}
