package ldapbench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/internal/testenv"
)

// The migration targets, against slapadd -q and slapcat on the
// same file in the same run.
const (
	targetImportTime = 2.0
	targetImportRSS  = 1.5
	targetExportTime = 1.0
)

// cost is what one command cost: wall time, processor time (user and
// system) and peak resident memory.
type cost struct {
	wall, cpu time.Duration
	rss       int64
}

func measureCommand(b *testing.B, name string, args ...string) cost {
	b.Helper()
	cmd := exec.Command(name, args...)
	began := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	r := cost{wall: time.Since(began)}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		r.rss = ru.Maxrss << 10 // kB on Linux
	}
	return r
}

// BenchmarkImportVsSlapadd writes the benchmark's dataset as an OpenLDAP
// export (100,000 users with {SSHA} passwords in 1,000 groups; -short:
// 10,000), then loads it with `atrium import` into a fresh data directory
// and with `slapadd -q` into a fresh mdb database, and dumps each again
// with `atrium export` and slapcat, in alternating rounds. The table gives
// the medians and their ratios.
func BenchmarkImportVsSlapadd(b *testing.B) {
	slapadd := testenv.Tool(b, slapaddPath, "slapd")
	slapcat := testenv.Tool(b, "/usr/sbin/slapcat", "slapd")
	d := Dataset{Base: "dc=example,dc=com", Users: 100_000, Groups: 1000}
	if testing.Short() {
		d.Users, d.Groups = 10_000, 100
	}
	d.BindUsers = d.Users
	dir := b.TempDir()
	atrium := buildCLI(b, dir)
	ldif := filepath.Join(dir, "export.ldif")
	f, err := os.Create(ldif)
	if err != nil {
		b.Fatal(err)
	}
	if err := d.WriteLDIF(f); err != nil {
		b.Fatal(err)
	}
	f.Close()

	const rounds = 3
	costs := map[string][]cost{}
	for i := range rounds {
		data := filepath.Join(dir, fmt.Sprint("atrium", i))
		costs["import"] = append(costs["import"], measureCommand(b, atrium, "import", "--data", data, "--base-dn", d.Base, ldif))
		conf, _, err := writeSlapdConf(filepath.Join(dir, fmt.Sprint("slapd", i)), d)
		if err != nil {
			b.Fatal(err)
		}
		costs["slapadd"] = append(costs["slapadd"], measureCommand(b, slapadd, "-q", "-f", conf, "-l", ldif))
		costs["export"] = append(costs["export"], measureCommand(b, atrium, "export", "--data", data, "--base-dn", d.Base, filepath.Join(dir, "atrium-out.ldif")))
		costs["slapcat"] = append(costs["slapcat"], measureCommand(b, slapcat, "-f", conf, "-l", filepath.Join(dir, "slapcat-out.ldif")))
	}
	med := map[string]cost{}
	for name, rs := range costs {
		med[name] = medianCost(rs)
	}
	importTime := ratio(med["import"].wall, med["slapadd"].wall)
	importRSS := float64(med["import"].rss) / float64(med["slapadd"].rss)
	exportTime := ratio(med["export"].wall, med["slapcat"].wall)
	b.ReportMetric(importTime, "import/slapadd-time")
	b.ReportMetric(importRSS, "import/slapadd-rss")
	b.ReportMetric(exportTime, "export/slapcat-time")
	fmt.Printf("\n%d users, %d groups, median of %d rounds (wall time moves with the machine's load; CPU is steadier)\n", d.Users, d.Groups, rounds)
	fmt.Printf("%-16s %10s %10s %10s\n", "", "wall", "cpu", "peak RSS")
	for _, name := range []string{"import", "slapadd", "export", "slapcat"} {
		r := med[name]
		fmt.Printf("%-16s %10s %10s %8d MB\n", name, r.wall.Round(time.Millisecond), r.cpu.Round(time.Millisecond), r.rss>>20)
	}
	fmt.Printf("import/slapadd  time %.2fx (cpu %.2fx, target <= %.1fx %s), peak RSS %.2fx (target <= %.1fx %s)\n",
		importTime, ratio(med["import"].cpu, med["slapadd"].cpu), targetImportTime, verdict(importTime <= targetImportTime),
		importRSS, targetImportRSS, verdict(importRSS <= targetImportRSS))
	fmt.Printf("export/slapcat  time %.2fx (cpu %.2fx, target <= %.1fx %s)\n",
		exportTime, ratio(med["export"].cpu, med["slapcat"].cpu), targetExportTime, verdict(exportTime <= targetExportTime))
}

// buildCLI builds the atrium command into dir: the benchmark measures the
// path a migrating admin takes.
func buildCLI(b *testing.B, dir string) string {
	b.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	exe := filepath.Join(dir, "atrium")
	if out, err := exec.Command(goTool, "build", "-o", exe, "github.com/atrium-dir/atrium/cmd/atrium").CombinedOutput(); err != nil {
		b.Fatalf("build atrium: %v\n%s", err, out)
	}
	return exe
}

// importWithCLI writes d as an OpenLDAP export and builds a store from it
// with `atrium import` (the command at cli), the path a migrating admin
// takes, in a data directory under dir; then it adds the bind account the
// searches use (an import leaves service accounts out). It returns the
// store's path; the data directory's secret.key is beside it.
func importWithCLI(b *testing.B, cli, dir string, d Dataset) string {
	b.Helper()
	file := filepath.Join(dir, "export.ldif")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	if err := d.WriteLDIF(f); err != nil {
		b.Fatal(err)
	}
	f.Close()
	data := filepath.Join(dir, "imported")
	if out, err := exec.Command(cli, "import", "--data", data, "--base-dn", d.Base, file).CombinedOutput(); err != nil {
		b.Fatalf("atrium import: %v\n%s", err, out)
	}
	ctx := context.Background()
	store, err := boltstore.Open(filepath.Join(data, "atrium.db"), time.Second)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	dir2, err := directory.New(ctx, store, directory.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer dir2.Close()
	if _, err := dir2.CreateBindAccount(ctx, ReaderName, []directory.Right{directory.RightRead}, ReaderPassword); err != nil {
		b.Fatal(err)
	}
	return filepath.Join(data, "atrium.db")
}

// medianCost is the cost of median wall time, with the median processor time
// and peak memory of the rounds.
func medianCost(rs []cost) cost {
	pick := func(key func(cost) int64) int64 {
		v := make([]int64, len(rs))
		for i, r := range rs {
			v[i] = key(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return cost{
		wall: time.Duration(pick(func(r cost) int64 { return int64(r.wall) })),
		cpu:  time.Duration(pick(func(r cost) int64 { return int64(r.cpu) })),
		rss:  pick(func(r cost) int64 { return r.rss }),
	}
}

func ratio(a, b time.Duration) float64 { return float64(a) / float64(b) }

func verdict(met bool) string {
	if met {
		return "met"
	}
	return "MISSED"
}
