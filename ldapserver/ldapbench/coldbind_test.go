package ldapbench

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
	"github.com/atrium-dir/atrium/directory/password"
	"github.com/atrium-dir/atrium/ldif"
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
// them on one core. It measures the p99 of uid searches on 4 connections
// alone, then while 4 other connections bind fresh users one after the
// other, and the server's CPU per cold bind against one argon2id hash
// computed here.
func BenchmarkColdBinds(b *testing.B) {
	d := Dataset{Base: "dc=example,dc=com", Users: 20_000, Groups: 200}
	if testing.Short() {
		d.Users, d.Groups = 2_000, 20
	}
	d.BindUsers = d.Users
	path := filepath.Join(b.TempDir(), "atrium.db")
	if err := importDataset(path, d); err != nil {
		b.Fatal(err)
	}
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
	search := Workloads(d, stormSearchConn)[0]
	const searches = 4000
	quiet, err := Run(srv.Addr, search, searches, nil)
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	bindOnly := coldBinds(srv, d, &next, 2*time.Second)
	storm := coldBinds(srv, d, &next, 0)
	stormy, err := Run(srv.Addr, search, searches, nil)
	storm.stop()
	if err != nil {
		b.Fatal(err)
	}
	st := storm.result()
	bo := bindOnly.result()
	if bo.err != nil || st.err != nil {
		b.Fatal(bo.err, st.err)
	}
	hash := hashCPU()
	p99Ratio := float64(stormy.P99) / float64(quiet.P99)
	costRatio := float64(bo.cpuPerBind) / float64(hash)
	b.ReportMetric(p99Ratio, "storm-p99/quiet-p99")
	b.ReportMetric(costRatio, "cold-bind/argon2id-cpu")
	fmt.Printf("\ncold binds, %d users with {SSHA} passwords, server on one core (GOMAXPROCS=1), argon2id m=%d KiB t=%d p=%d\n",
		d.Users, password.DefaultParams.Memory, password.DefaultParams.Time, password.DefaultParams.Threads)
	fmt.Printf("uid search p99 on %d conns: quiet %s, during %d conns of cold binds %s: %.2fx (target <= %.1fx %s); p50 %s -> %s\n",
		stormSearchConn, quiet.P99.Round(10*time.Microsecond), coldBindConns, stormy.P99.Round(10*time.Microsecond),
		p99Ratio, targetStormP99, verdict(p99Ratio <= targetStormP99), quiet.P50.Round(10*time.Microsecond), stormy.P50.Round(10*time.Microsecond))
	fmt.Printf("cold binds alone: %.1f/s, p50 %s, server CPU %s per bind (password workers included); one argon2id hash here: %s of CPU: %.2fx (target <= %.1fx %s)\n",
		bo.rate, bo.p50.Round(time.Millisecond), bo.cpuPerBind.Round(100*time.Microsecond), hash.Round(100*time.Microsecond),
		costRatio, targetColdCost, verdict(costRatio <= targetColdCost))
	fmt.Printf("cold binds during the searches: %.1f/s, p50 %s\n", st.rate, st.p50.Round(time.Millisecond))
}

// importDataset writes d as an OpenLDAP export and imports it into a new
// store at path, as `atrium import` does, with the reader's bind account.
func importDataset(path string, d Dataset) error {
	var file bytes.Buffer
	if err := d.WriteLDIF(&file); err != nil {
		return err
	}
	ctx := context.Background()
	store, err := boltstore.Open(path, time.Second)
	if err != nil {
		return err
	}
	defer store.Close()
	dir, err := directory.New(ctx, store, directory.Options{})
	if err != nil {
		return err
	}
	defer dir.Close()
	layout, err := ldif.NewLayout(d.Base)
	if err != nil {
		return err
	}
	if _, err = ldif.Import(ctx, dir, &file, layout); err != nil {
		return err
	}
	// An import leaves service accounts out; the searches bind as this one.
	_, err = dir.CreateBindAccount(ctx, ReaderName, []directory.Right{directory.RightRead}, ReaderPassword)
	return err
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
