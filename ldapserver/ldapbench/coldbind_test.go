package ldapbench

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory/password"
)

// The cold-bind targets: uid searches during a storm of first
// binds keep a p99 within this multiple of their quiet p99, and a cold
// bind costs at most this multiple of one argon2id hash.
const (
	targetStormP99  = 2.0
	targetColdCost  = 1.2
	coldBindConns   = 4
	stormSearchConn = 4
)

// BenchmarkColdBinds imports users with {SSHA} passwords (the first bind
// of each upgrades it to argon2id with the default parameters) and serves
// them on one core. It measures the server's CPU per cold bind against one
// argon2id hash computed here, then in alternating rounds the p99 of uid
// searches on 4 connections alone and while 4 other connections bind
// fresh users one after the other: the median of the rounds' ratios is
// the figure, since one round on a shared machine is noise.
func BenchmarkColdBinds(b *testing.B) {
	d := Dataset{Base: "dc=example,dc=com", Users: 20_000, Groups: 200}
	if testing.Short() {
		d.Users, d.Groups = 2_000, 20
	}
	d.BindUsers = d.Users
	dir := b.TempDir()
	path := importWithCLI(b, buildCLI(b, dir), dir, d)
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	srv, err := StartAtrium(exe, path, d)
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Stop()
	if err := KeepOffServerCPU(); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	bo := coldBinds(srv, d, &next, 2*time.Second).result()
	if bo.err != nil {
		b.Fatal(bo.err)
	}
	rounds, err := stormRounds(srv, d, &next)
	if err != nil {
		b.Fatal(err)
	}
	workers := describeWorkers(srv)
	hash := hashCPU()
	p99Ratio := medianRatio(rounds)
	costRatio := float64(bo.cpuPerBind) / float64(hash)
	b.ReportMetric(p99Ratio, "storm-p99/quiet-p99")
	b.ReportMetric(costRatio, "cold-bind/argon2id-cpu")
	fmt.Printf("\ncold binds, %d users with {SSHA} passwords, server on one core (GOMAXPROCS=1), argon2id m=%d KiB t=%d p=%d\n",
		d.Users, password.DefaultParams.Memory, password.DefaultParams.Time, password.DefaultParams.Threads)
	fmt.Printf("cold binds alone: %.1f/s, p50 %s, server CPU %s per bind (password workers included); one argon2id hash here: %s of CPU: %.2fx (target <= %.1fx %s)\n",
		bo.rate, bo.p50.Round(time.Millisecond), bo.cpuPerBind.Round(100*time.Microsecond), hash.Round(100*time.Microsecond),
		costRatio, targetColdCost, verdict(costRatio <= targetColdCost))
	fmt.Printf("uid search p99 on %d conns, quiet -> during %d conns of cold binds, %d alternating rounds:\n", stormSearchConn, coldBindConns, len(rounds))
	for _, r := range rounds {
		fmt.Printf("  %s -> %s (%.2fx; p50 %s -> %s); cold binds meanwhile %.1f/s, p50 %s\n",
			r.quiet.P99.Round(10*time.Microsecond), r.stormy.P99.Round(10*time.Microsecond), r.ratio(),
			r.quiet.P50.Round(10*time.Microsecond), r.stormy.P50.Round(10*time.Microsecond), r.binds.rate, r.binds.p50.Round(time.Millisecond))
	}
	fmt.Printf("median ratio %.2fx (target <= %.1fx %s)\n", p99Ratio, targetStormP99, verdict(p99Ratio <= targetStormP99))
	fmt.Printf("password workers of the server: %s\n", workers)
}

// stormRound is one quiet run of the uid searches and one during cold
// binds.
type stormRound struct {
	quiet, stormy Result
	binds         stormResult
}

func (r stormRound) ratio() float64 { return float64(r.stormy.P99) / float64(r.quiet.P99) }

const (
	stormRoundCount = 3
	roundSearches   = 4000
)

// stormRounds runs stormRoundCount rounds of the searches, each alone and
// then during cold binds.
func stormRounds(srv *Server, d Dataset, next *atomic.Int64) ([]stormRound, error) {
	search := Workloads(d, stormSearchConn)[0]
	var rounds []stormRound
	for range stormRoundCount {
		var r stormRound
		var err error
		if r.quiet, err = Run(srv.Addr, search, roundSearches, nil); err != nil {
			return nil, err
		}
		storm := coldBinds(srv, d, next, 0)
		r.stormy, err = Run(srv.Addr, search, roundSearches, nil)
		storm.stop()
		if r.binds = storm.result(); err == nil {
			err = r.binds.err
		}
		if err != nil {
			return nil, err
		}
		rounds = append(rounds, r)
	}
	return rounds, nil
}

func medianRatio(rounds []stormRound) float64 {
	var ratios []float64
	for _, r := range rounds {
		ratios = append(ratios, r.ratio())
	}
	slices.Sort(ratios)
	return ratios[len(ratios)/2]
}

// describeWorkers says on which CPUs and under which scheduling policy the
// server's child processes (its password workers) run.
func describeWorkers(srv *Server) string {
	var out []string
	for _, pid := range srv.Children() {
		cpus := "?"
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		for line := range strings.Lines(string(status)) {
			if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
				cpus = strings.TrimSpace(v)
			}
		}
		policy := fmt.Sprintf("nice %d", password.Nice)
		if !password.AtWorkerPriority(pid) {
			policy = fmt.Sprintf("not at nice %d", password.Nice)
		}
		out = append(out, fmt.Sprintf("pid %d on CPU %s, %s", pid, cpus, policy))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "; ")
}

// bindStorm is coldBindConns connections binding users never bound before.
type bindStorm struct {
	done     chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	lat      []time.Duration
	err      error
	began    time.Time
	elapsed  time.Duration
	cpuStart time.Duration
	cpu      time.Duration
	server   *Server
}

type stormResult struct {
	rate       float64
	p50        time.Duration
	cpuPerBind time.Duration
	err        error
}

// coldBinds starts the storm; with a duration, it runs that long and has
// stopped on return.
func coldBinds(srv *Server, d Dataset, next *atomic.Int64, dur time.Duration) *bindStorm {
	addr := srv.Addr
	s := &bindStorm{server: srv, done: make(chan struct{}), began: time.Now()}
	s.cpuStart = srv.CPUTime()
	for range coldBindConns {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			c, err := dial(addr)
			if err != nil {
				s.fail(err)
				return
			}
			defer c.Close()
			for {
				select {
				case <-s.done:
					return
				default:
				}
				i := int(next.Add(1)) % d.Users
				t := time.Now()
				if err := expect(c.do(bindRequest(d.UserDN(i), d.Password(i)))); err != nil {
					s.fail(fmt.Errorf("bind %s: %w", d.UID(i), err))
					return
				}
				s.mu.Lock()
				s.lat = append(s.lat, time.Since(t))
				s.mu.Unlock()
			}
		}()
	}
	if dur > 0 {
		time.Sleep(dur)
		s.stop()
	}
	return s
}

func (s *bindStorm) fail(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = err
	}
}

func (s *bindStorm) stop() {
	close(s.done)
	s.wg.Wait()
	s.elapsed = time.Since(s.began)
	s.cpu = s.server.CPUTime() - s.cpuStart
}

func (s *bindStorm) result() stormResult {
	r := stormResult{err: s.err}
	if n := len(s.lat); n > 0 {
		sorted := append([]time.Duration(nil), s.lat...)
		slices.Sort(sorted)
		r.p50 = sorted[n/2]
		r.rate = float64(n) / s.elapsed.Seconds()
		r.cpuPerBind = s.cpu / time.Duration(n)
	}
	return r
}

// hashCPU is the processor time of one argon2id hash with the default
// parameters, the median of a few, measured in this process.
func hashCPU() time.Duration {
	h := password.Hasher{Params: password.DefaultParams}
	var best []time.Duration
	for range 5 {
		before := selfCPU()
		if _, err := h.Hash(fmt.Sprint("pw", rand.Int())); err != nil {
			return 0
		}
		best = append(best, selfCPU()-before)
	}
	slices.Sort(best)
	return best[len(best)/2]
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
