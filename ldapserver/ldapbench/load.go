package ldapbench

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
)

// Workload is one kind of operation the load generator repeats.
type Workload struct {
	Name string
	// Conns is how many connections run it at once, each in a closed loop.
	Conns int
	// Setup prepares connection k (bind as needed); nil for workloads that
	// dial per operation.
	Setup func(c *conn, k int) error
	// Op runs one operation on c (nil when Setup is nil) for worker k.
	Op func(addr string, c *conn, k int, rnd *rand.Rand) error
	// Ops, when set, is how many operations a round runs, for an operation
	// that takes seconds; otherwise a round runs for a fixed time.
	Ops int
}

// Result is what one run of a workload measured.
type Result struct {
	Ops      int
	Elapsed  time.Duration
	P50, P99 time.Duration
	// CPUPerOp is the server's, when the caller measured it.
	CPUPerOp time.Duration
	// MajorFaults are the server's page faults that read from disk, when
	// the caller counted them.
	MajorFaults int64
}

// OpsPerSec is the throughput of the run.
func (r Result) OpsPerSec() float64 { return float64(r.Ops) / r.Elapsed.Seconds() }

// Run drives addr with w until n operations are done, and measures
// throughput and latency. started is called once every connection is set
// up, just before the clock starts.
func Run(addr string, w Workload, n int, started func()) (Result, error) {
	return run(addr, w, n, 0, 0, started)
}

// RunFor is Run for d instead of for a number of operations (w.Ops, when
// set, still bounds it).
func RunFor(addr string, w Workload, d time.Duration, started func()) (Result, error) {
	if w.Ops > 0 {
		return run(addr, w, w.Ops, 0, 0, started)
	}
	return run(addr, w, math.MaxInt, 0, d, started)
}

// RunPaced is Run at a fixed total rate (operations per second) instead of
// as fast as the server answers, to see latency when requests do not queue.
// Latency counts from when an operation was due, so a server that falls
// behind is not flattered by the load generator waiting for it.
func RunPaced(addr string, w Workload, n int, rate float64) (Result, error) {
	return run(addr, w, n, rate, 0, nil)
}

// run drives addr with w until n operations are done or, when d is set,
// for d once every connection is set up.
func run(addr string, w Workload, n int, rate float64, d time.Duration, started func()) (Result, error) {
	conns := make([]*conn, w.Conns)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	if err := setUp(addr, w, conns); err != nil {
		return Result{}, err
	}
	var next atomic.Int64
	lat := make([][]time.Duration, w.Conns)
	errs := make([]error, w.Conns)
	var wg sync.WaitGroup
	if started != nil {
		started()
	}
	start := time.Now()
	var until time.Time
	if d > 0 {
		until = start.Add(d)
	}
	for k := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(uint64(k), 42))
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				t := time.Now()
				if !until.IsZero() && t.After(until) {
					return
				}
				if rate > 0 {
					// An operation claimed after it was due waited for a
					// connection the server had not answered yet: its
					// latency counts from when it was due. One claimed
					// early waits for its time, and counts from when it
					// was sent, so that the timer's lateness (a sleep
					// overshoots by up to a millisecond or more) is not
					// charged to the server.
					due := start.Add(time.Duration(float64(i-1) / rate * float64(time.Second)))
					if t.Before(due) {
						time.Sleep(time.Until(due))
						t = time.Now()
					} else {
						t = due
					}
				}
				if err := w.Op(addr, conns[k], k, rnd); err != nil {
					errs[k] = err
					next.Store(int64(n)) // stop everyone
					return
				}
				lat[k] = append(lat[k], time.Since(t))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return Result{}, fmt.Errorf("%s: %w", w.Name, err)
	}
	return summarise(slices.Concat(lat...), elapsed), nil
}

// setUp dials the connections of w that need it and prepares them.
func setUp(addr string, w Workload, conns []*conn) error {
	if w.Setup == nil {
		return nil
	}
	for k := range conns {
		c, err := dial(addr)
		if err != nil {
			return err
		}
		conns[k] = c
		if err := w.Setup(c, k); err != nil {
			return fmt.Errorf("%s: set up connection %d: %w", w.Name, k, err)
		}
	}
	return nil
}

// summarise is the result of operations with these latencies.
func summarise(all []time.Duration, elapsed time.Duration) Result {
	slices.Sort(all)
	r := Result{Ops: len(all), Elapsed: elapsed}
	if len(all) > 0 {
		r.P50 = all[len(all)*50/100]
		r.P99 = all[min(len(all)-1, len(all)*99/100)]
	}
	return r
}

// Workloads are the operations compared, on dataset d: conns connections
// for the per-operation workloads.
func Workloads(d Dataset, conns int) []Workload {
	bindAs := func(dn, pw string) func(c *conn, k int) error {
		return func(c *conn, k int) error { return expect(c.do(bindRequest(dn, pw))) }
	}
	reader := bindAs(d.ReaderDN(), ReaderPassword)
	// search sends user i's search from cache, built by filter the first
	// time, and expects want entries.
	search := func(c *conn, cache requestCache, i, want int, filter func() string, attrs ...string) error {
		msg, err := cache.get(i, func() (*ber.Packet, error) { return searchRequest(d.Base, 2, filter(), attrs...) })
		if err != nil {
			return err
		}
		r, err := c.exchange(msg, false)
		if err == nil && r.code == 0 && r.entries != want {
			return fmt.Errorf("search of user %d: %d entries, want %d", i, r.entries, want)
		}
		return expect(r, err)
	}
	uidSearches, membershipSearches := make(requestCache, d.Users), make(requestCache, d.Users)
	return []Workload{
		{
			Name: "uid-search", Conns: conns, Setup: reader,
			// What nslcd and SSSD send to look up a login name.
			Op: func(_ string, c *conn, k int, rnd *rand.Rand) error {
				i := rnd.IntN(d.Users)
				return search(c, uidSearches, i, 1, func() string { return "(&(objectClass=posixAccount)(uid=" + d.UID(i) + "))" },
					"uid", "userPassword", "uidNumber", "gidNumber", "cn", "homeDirectory", "loginShell", "gecos", "objectClass")
			},
		},
		{
			Name: "membership-search", Conns: conns, Setup: reader,
			// nslcd's initgroups query: the groups a user is directly in.
			Op: func(_ string, c *conn, k int, rnd *rand.Rand) error {
				i := rnd.IntN(d.Users)
				return search(c, membershipSearches, i, 3, func() string {
					return "(&(objectClass=posixGroup)(|(memberUid=" + d.UID(i) + ")(member=" + d.UserDN(i) + ")))"
				}, "gidNumber", "cn")
			},
		},
		{
			Name: "bind", Conns: conns,
			// A device binding as the same user again and again.
			Setup: func(c *conn, k int) error {
				i := k % d.BindUsers
				return expect(c.do(bindRequest(d.UserDN(i), d.Password(i))))
			},
			Op: func(_ string, c *conn, k int, _ *rand.Rand) error {
				i := k % d.BindUsers
				return expect(c.do(bindRequest(d.UserDN(i), d.Password(i))))
			},
		},
		{
			Name: "connect-bind-unbind", Conns: conns,
			Op: func(addr string, _ *conn, k int, _ *rand.Rand) error {
				i := k % d.BindUsers
				c, err := dial(addr)
				if err != nil {
					return err
				}
				defer c.Close()
				if err := expect(c.do(bindRequest(d.UserDN(i), d.Password(i)))); err != nil {
					return err
				}
				return c.send(unbindRequest())
			},
		},
		{
			Name: "paged-listing", Conns: 1, Setup: reader, Ops: 1,
			// Every user in pages of 1000, as Proxmox, Nextcloud or a Duo
			// sync lists them.
			Op: func(_ string, c *conn, _ int, _ *rand.Rand) error { return pagedListing(c, d) },
		},
	}
}

// pagedListing lists every user of d on c in pages of 1000, with uid and
// mail.
func pagedListing(c *conn, d Dataset) error {
	req, err := searchRequest("ou=people,"+d.Base, 1, "(objectClass=inetOrgPerson)", "uid", "mail")
	if err != nil {
		return err
	}
	var cookie []byte
	total := 0
	for {
		r, err := c.do(req, pagingControl(1000, cookie))
		if err := expect(r, err); err != nil {
			return err
		}
		total += r.entries
		if len(r.cookie) == 0 {
			break
		}
		cookie = r.cookie
	}
	if total != d.Users {
		return fmt.Errorf("paged listing: %d entries, want %d", total, d.Users)
	}
	return nil
}

func expect(r response, err error) error {
	if err != nil {
		return err
	}
	if r.code != 0 {
		return fmt.Errorf("result code %d", r.code)
	}
	return nil
}
