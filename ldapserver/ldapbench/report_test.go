package ldapbench

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The figures of BenchmarkAtriumVsSlapd, each as a ratio against slapd in
// the same run, with its target and whether it was met.

func ms(t time.Duration) string { return fmt.Sprintf("%.2f ms", float64(t.Microseconds())/1000) }
func us(t time.Duration) string { return fmt.Sprintf("%.0f µs", float64(t.Nanoseconds())/1000) }

// ratios lists per-round ratios as "0.78 0.80 0.79".
func ratios(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return strings.Join(parts, " ")
}

// report is the closed-loop table: each server's round with the median
// throughput, and round by round (each round runs the servers back to
// back) Atrium's CPU per operation over slapd's and Atrium's throughput
// over slapd's. Throughput on a shared machine moves with whatever else
// runs; the server's own CPU per operation moves much less, which is why
// the targets are set on it.
func report(workloads []Workload, samples map[string][]sample, haveSlapd bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-20s %12s %8s %12s %8s  %-22s %-22s %s\n", "workload", "atrium op/s", "cpu/op", "slapd op/s", "cpu/op",
		"cpu atrium/slapd", "speed atrium/slapd", "target")
	for _, w := range workloads {
		as, ss := samples[w.Name+"/atrium"], samples[w.Name+"/slapd"]
		if len(as) == 0 {
			continue
		}
		a := typical(as)
		fmt.Fprintf(&b, "%-20s %12s %8s", w.Name, speed(w, a), us(a.cpu))
		if !haveSlapd || len(ss) == 0 {
			b.WriteString("  (no slapd)\n")
			continue
		}
		s := typical(ss)
		var cpu, faster []float64
		for i := range min(len(as), len(ss)) {
			cpu = append(cpu, float64(as[i].cpu)/float64(ss[i].cpu))
			faster = append(faster, as[i].OpsPerSec()/ss[i].OpsPerSec())
		}
		sp, lo, hi := medianRange(faster)
		fmt.Fprintf(&b, " %12s %8s  %-22s %-22s %s\n", speed(w, s), us(s.cpu), "rounds "+ratios(cpu),
			fmt.Sprintf("%.2fx (%.2f–%.2f)", sp, lo, hi), closedTarget(w.Name, cpu, sp))
	}
	return b.String()
}

// speed is a round's throughput, or for a workload of a few long
// operations (w.Ops) the time of one.
func speed(w Workload, r sample) string {
	if w.Ops > 0 {
		return ms(r.Elapsed / time.Duration(max(1, r.Ops)))
	}
	return fmt.Sprintf("%.0f", r.OpsPerSec())
}

// closedTarget is the target of one workload and whether it was met.
func closedTarget(name string, cpu []float64, speed float64) string {
	switch name {
	case "uid-search", "membership-search", "connect-bind-unbind":
		worst := slices.Max(cpu)
		s := fmt.Sprintf("cpu <= %.2fx in every round: %s", targetCPURatio, verdict(worst <= targetCPURatio))
		if worst > targetCPURatio {
			s += fmt.Sprintf(" (round %d at %.2fx)", slices.Index(cpu, worst)+1, worst)
		}
		return s
	case "paged-listing":
		return fmt.Sprintf("speed >= %.1fx: %s", targetPagedRatio, verdict(speed >= targetPagedRatio))
	case "bind":
		return fmt.Sprintf("speed >= %.1fx (argon2id, cached, vs {SSHA}): %s", targetBindRatio, verdict(speed >= targetBindRatio))
	}
	return ""
}

// paced measures latency of the two searches at 32 connections when the
// servers are not saturated: at half the rate the slower one reached in
// the closed loop, in pacedRounds windows of a second each, the servers
// taking turns. One stall of the machine (tens of milliseconds, which a
// shared virtual machine has every few seconds whatever it runs) sets the
// p99 of the window it falls in, so each server's median window is
// compared, and the window-by-window ratios are shown beside it (on a
// busy machine the weather changes between two windows next to each
// other, so those move by 10x). The others take their turns too: the null
// server, whose p99 is the floor the machine sets in the same windows,
// which no server can beat, and any variant of Atrium's runtime settings
// being tried (ATRIUM_LDAPBENCH_VARIANT_ENV).
func paced(workloads []Workload, servers, others []*Server, samples map[string][]sample) string {
	var b strings.Builder
	for _, w := range workloads {
		if w.Name != "uid-search" && w.Name != "membership-search" {
			continue
		}
		rate := 0.0
		for _, s := range servers {
			if ops := typical(samples[w.Name+"/"+s.Name]).OpsPerSec(); rate == 0 || ops/2 < rate {
				rate = ops / 2
			}
		}
		turns := slices.Concat(servers, others)
		windows, err := pacedWindows(w, turns, rate)
		if err != nil {
			fmt.Fprintf(&b, "%s paced: %v\n", w.Name, err)
			continue
		}
		fmt.Fprintf(&b, "%s p99 at %.0f op/s over %d connections, %d windows:", w.Name, rate, benchConns, pacedRounds)
		for _, s := range turns {
			p50, p99 := medianLatency(windows[s.Name])
			first := windows[s.Name][0]
			fmt.Fprintf(&b, "  %s p50 %s, p99 %s, CPU %s per op, %d major faults;", s.Name, ms(p50), ms(p99), first.CPUPerOp.Round(100*time.Nanosecond), first.MajorFaults)
		}
		a, s := windows["atrium"], windows["slapd"]
		if len(s) == 0 {
			b.WriteString("\n")
			continue
		}
		var rs []float64
		for i := range a {
			rs = append(rs, float64(a[i].P99)/float64(s[i].P99))
		}
		_, ap99 := medianLatency(a)
		_, sp99 := medianLatency(s)
		r := float64(ap99) / float64(sp99)
		fmt.Fprintf(&b, "  atrium/slapd median p99 %.2fx (window by window %s), target <= %.1fx: %s\n", r, ratios(rs), targetP99Ratio, verdict(r <= targetP99Ratio))
	}
	return b.String()
}

// pacedRounds is how many paced windows each server runs;
// ATRIUM_LDAPBENCH_WINDOWS sets another number, to settle a comparison on
// a busy machine.
var pacedRounds = 9

func init() {
	if n, err := strconv.Atoi(os.Getenv("ATRIUM_LDAPBENCH_WINDOWS")); err == nil && n > 0 {
		pacedRounds = n
	}
}

// pacedWindows runs pacedRounds windows of w at rate on each server in
// turn, and returns them by server name, in order, each with the server's
// CPU per operation over all its windows.
func pacedWindows(w Workload, turns []*Server, rate float64) (map[string][]Result, error) {
	windows := map[string][]Result{}
	cpu := map[string]time.Duration{}
	faults := map[string]int64{}
	for range pacedRounds {
		for _, s := range turns {
			before, faulted := s.CPUTime(), s.MajorFaults()
			r, err := RunPaced(s.Addr, w, int(rate), rate)
			if err != nil {
				return nil, fmt.Errorf("on %s: %w", s.Name, err)
			}
			cpu[s.Name] += s.CPUTime() - before
			faults[s.Name] += s.MajorFaults() - faulted
			windows[s.Name] = append(windows[s.Name], r)
		}
	}
	for _, s := range turns {
		for i := range windows[s.Name] {
			windows[s.Name][i].CPUPerOp = cpu[s.Name] / time.Duration(pacedRounds*int(rate))
			windows[s.Name][i].MajorFaults = faults[s.Name]
		}
	}
	return windows, nil
}

// medianLatency is the p50 and p99 of the window with the median p99.
func medianLatency(rs []Result) (p50, p99 time.Duration) {
	if len(rs) == 0 {
		return 0, 0
	}
	sorted := slices.SortedFunc(slices.Values(rs), func(x, y Result) int { return cmp.Compare(x.P99, y.P99) })
	mid := sorted[len(sorted)/2]
	return mid.P50, mid.P99
}

// footprint is start-up and memory. Start-up is from exec to the first
// answered bind, of `atrium serve` (everything it opens besides LDAP) and
// of the benchmark's own LDAP-only server. The peak resident memory is
// shown as it stood after each workload's first round too, to say which
// workload set it.
func footprint(servers []*Server, serveStartup time.Duration, workloads []Workload, samples map[string][]sample) string {
	var b strings.Builder
	fmt.Fprintf(&b, "start-up of atrium serve %s: %.2fx of the %s budget: %s\n", ms(serveStartup),
		float64(serveStartup)/float64(targetStartup), targetStartup, verdict(serveStartup < targetStartup))
	peaks := map[string]int64{}
	for _, s := range servers {
		rss, peak, anon := s.Memory()
		peaks[s.Name] = peak
		fmt.Fprintf(&b, "%s: start-up %s; resident %d MiB after start-up, %d MiB at the end (%d MiB of it not the mapped store), %d MiB at peak; store %d MiB on disk\n",
			s.Name, ms(s.Startup), s.StartRSS>>20, rss>>20, anon>>20, peak>>20, s.StoreSize()>>20)
	}
	b.WriteString("atrium peak resident after the first round of")
	for _, w := range workloads {
		if rounds := samples[w.Name+"/atrium"]; len(rounds) > 0 {
			fmt.Fprintf(&b, " %s %d MiB,", w.Name, rounds[0].peak>>20)
		}
	}
	fmt.Fprintf(&b, " at the end %d MiB, target < %d MiB: %s", peaks["atrium"]>>20, targetRSS>>20, verdict(peaks["atrium"] < targetRSS))
	if p := peaks["slapd"]; p > 0 {
		fmt.Fprintf(&b, " (%.2fx slapd's)", float64(peaks["atrium"])/float64(p))
	}
	b.WriteString("\n")
	return b.String()
}
