package ldapbench

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	if os.Getenv(NullEnv) != "" {
		if err := ServeNull(); err != nil {
			fmt.Fprintln(os.Stderr, "null benchmark server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv(ServeEnv) != "" {
		if err := Serve(); err != nil {
			fmt.Fprintln(os.Stderr, "atrium benchmark server:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The targets, each against slapd in the same run.
const (
	// Atrium's CPU per operation at most this multiple of slapd's, in
	// every round, the first after start included.
	targetCPURatio = 0.83
	// p99 at 32 connections at most this multiple of slapd's.
	targetP99Ratio = 1.0
	// A paged listing of every user at least as fast as slapd's.
	targetPagedRatio = 1.0
	// Repeated binds (argon2id, cached) at least as fast as slapd's {SSHA}.
	targetBindRatio = 1.0
	targetRSS       = 300 << 20
	targetStartup   = 2 * time.Second
	benchConns      = 32
	// roundTime is how long each server runs each workload in a round.
	roundTime = 3 * time.Second
)

// BenchmarkAtriumVsSlapd builds 100,000 users in 1,000 groups in Atrium and
// in slapd, and runs every workload against both with 32 connections
// (-short: 10,000 users). The tables at the end compare them; without
// slapd the Atrium half still runs. Run it with -benchtime 1x: each run
// takes minutes, and measures its own rounds.
func BenchmarkAtriumVsSlapd(b *testing.B) {
	d := Dataset{Base: "dc=example,dc=com", Users: 100_000, Groups: 1000, BindUsers: benchConns}
	if testing.Short() {
		d.Users, d.Groups = 10_000, 100
	}
	dir := b.TempDir()
	cli := buildCLI(b, dir)
	began := time.Now()
	path := importWithCLI(b, cli, dir, d)
	fmt.Printf("built Atrium's store of %d users and %d groups with atrium import in %s\n", d.Users, d.Groups, time.Since(began).Round(time.Millisecond))
	serveStartup := measureServeStartup(b, cli, dir, path, d)

	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	atrium, err := StartAtrium(exe, path, d)
	if err != nil {
		b.Fatal(err)
	}
	defer atrium.Stop()
	servers := []*Server{atrium}
	began = time.Now()
	slapd, err := StartSlapd(filepath.Join(dir, "slapd"), d)
	switch {
	case errors.Is(err, ErrNoSlapd):
		fmt.Printf("%v: measuring Atrium alone, no comparison\n", err)
	case err != nil:
		b.Fatal(err)
	default:
		defer slapd.Stop()
		fmt.Printf("loaded slapd with slapadd in %s\n", (time.Since(began) - slapd.Startup).Round(time.Millisecond))
		servers = append(servers, slapd)
	}
	null, err := StartNull(exe, d)
	if err != nil {
		b.Fatal(err)
	}
	defer null.Stop()
	if err := KeepOffServerCPU(); err != nil {
		b.Fatal(err)
	}
	// The load generator allocates about 10 KB per operation; collecting
	// less often keeps its own pauses out of the latencies it measures.
	defer debug.SetGCPercent(debug.SetGCPercent(400))

	workloads := selected(b, Workloads(d, benchConns))
	samples, err := closedLoop(workloads, servers)
	if err != nil {
		b.Fatal(err)
	}
	// Printed rather than logged: a benchmark's log is shown only with -v.
	fmt.Print(report(workloads, samples, slapd != nil))
	others := []*Server{null}
	// Variants are separated by ";": GOGC=400;GOMAXPROCS=2 starts two.
	for env := range strings.SplitSeq(os.Getenv("ATRIUM_LDAPBENCH_VARIANT_ENV"), ";") {
		if strings.TrimSpace(env) == "" {
			continue
		}
		variant, err := StartVariant(exe, dir, path, d, env)
		if err != nil {
			b.Fatal(err)
		}
		defer variant.Stop()
		others = append(others, variant)
	}
	fmt.Print(paced(workloads, servers, others, samples))
	fmt.Print(footprint(servers, serveStartup, workloads, samples))
}

// selected is the workloads whose names match ATRIUM_LDAPBENCH_ONLY (a
// regular expression; all when unset), to measure one while working on it.
func selected(b *testing.B, ws []Workload) []Workload {
	only := os.Getenv("ATRIUM_LDAPBENCH_ONLY")
	if only == "" {
		return ws
	}
	re, err := regexp.Compile(only)
	if err != nil {
		b.Fatal(err)
	}
	return slices.DeleteFunc(ws, func(w Workload) bool { return !re.MatchString(w.Name) })
}

// measureServeStartup starts `atrium serve` on a copy of the store and
// returns its start-up, from exec to the first answered bind.
func measureServeStartup(b *testing.B, cli, dir, path string, d Dataset) time.Duration {
	srv, err := StartServe(cli, dir, path, d)
	if err != nil {
		b.Fatal(err)
	}
	srv.Stop()
	os.Remove(srv.Store)
	return srv.Startup
}

// closedRounds is how many closed-loop rounds of each workload each server
// runs. The first is the first after start: nothing runs before it but the
// one bind and search that show the server is up.
const closedRounds = 3

// closedLoop runs closedRounds rounds of every workload on every server,
// roundTime each (or the workload's Ops), the servers taking turns in
// alternating order: a shared machine's speed moves by tens of percent
// from one second to the next, so the servers are compared round by round.
// The samples are by workload/server, one per round.
func closedLoop(workloads []Workload, servers []*Server) (map[string][]sample, error) {
	samples := map[string][]sample{}
	for round := range closedRounds {
		order := slices.Clone(servers)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, w := range workloads {
			for _, s := range order {
				smp, err := measure(s, w)
				if err != nil {
					return nil, fmt.Errorf("round %d on %s: %w", round+1, s.Name, err)
				}
				samples[w.Name+"/"+s.Name] = append(samples[w.Name+"/"+s.Name], smp)
			}
		}
	}
	return samples, nil
}

// sample is one closed-loop run of a workload on one server.
type sample struct {
	Result
	cpu  time.Duration // the server's CPU time per operation
	peak int64         // the server's peak resident memory so far
}

// measure runs w on s for one round.
func measure(s *Server, w Workload) (sample, error) {
	var before time.Duration
	r, err := RunFor(s.Addr, w, roundTime, func() { before = s.CPUTime() })
	if err != nil {
		return sample{}, err
	}
	_, peak, _ := s.Memory()
	return sample{Result: r, cpu: (s.CPUTime() - before) / time.Duration(max(1, r.Ops)), peak: peak}, nil
}

// typical is the round with the median throughput.
func typical(rounds []sample) sample {
	sorted := slices.Clone(rounds)
	slices.SortFunc(sorted, func(x, y sample) int { return cmp.Compare(x.OpsPerSec(), y.OpsPerSec()) })
	return sorted[len(sorted)/2]
}

// medianRange is the median of xs and its extremes.
func medianRange(xs []float64) (mid, lo, hi float64) {
	xs = slices.Sorted(slices.Values(xs))
	return xs[len(xs)/2], xs[0], xs[len(xs)-1]
}
