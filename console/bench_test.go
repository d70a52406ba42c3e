package console_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/gorilla/websocket"

	"github.com/atrium-dir/atrium/console"
	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/ldapserver"
	"github.com/atrium-dir/atrium/ldapserver/ldapbench"
	"github.com/atrium-dir/atrium/ldif"
	"github.com/atrium-dir/atrium/web"
)

// BenchmarkUserSearch compares, at 100,000 users, a search on the
// console's users page (a page of 50, as the search-as-you-type script
// asks for it over the page's live socket with the admin's session) with
// the LDAP search a client sends for the same users
// ((|(uid=Q*)(mail=Q*)(cn=Q*)) under ou=people, at most 50 entries, over
// TCP on a bound connection). Both servers run in this process and the
// clients in a process of their own (TestUserSearchClientProcess), so
// <kind>-cpu-ns/op is the servers' CPU time per search alone: this
// process's user and system time, which leaves out its children's. An op
// is one search of each kind, made in turns (see alternate); console/ldap
// is the ratio the issue sets at most 1. The console-json kind is the
// script's fallback when the socket cannot open: the JSON page over HTTP,
// a request per search. The http kind is that one's floor: the same page
// from memory behind the same headers.
func BenchmarkUserSearch(b *testing.B) {
	ds := ldapbench.Dataset{Base: "dc=example,dc=com", Users: 100_000, Groups: 1000}
	// Each server's goroutines carry its kind as the profile label
	// "server" (they inherit it from the goroutine that starts them), for
	// go tool pprof -tagfocus.
	defer pprof.SetGoroutineLabels(context.Background())
	serverLabel("console")
	st := newSiteWith(b, directory.MFAPolicy{}, true, func(d *directory.Directory) error { return ds.LoadAtrium(context.Background(), d) }, console.Options{})
	admin := st.client()
	admin.signIn("/admin/", "admin")

	layout, _ := ldif.NewLayout(ds.Base)
	srv := &ldapserver.Server{Backend: ldapserver.NewBackend(ldapserver.BackendConfig{Directory: st.d, Layout: layout})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	serverLabel("ldap")
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Shutdown(context.Background()) })

	base, _ := url.Parse(st.srv.URL)
	var cookies []string
	for _, c := range admin.c.Jar.Cookies(base) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	_, page := admin.get("/admin/users?format=json&q=user012345")
	serverLabel("http")
	floor := httptest.NewServer(web.Protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, page)
	}), nil))
	b.Cleanup(floor.Close)
	pprof.SetGoroutineLabels(context.Background())
	clients := startSearchClients(b, searchTarget{
		ConsoleURL: st.srv.URL, FloorURL: floor.URL, Cookie: strings.Join(cookies, "; "),
		LDAPAddr: ln.Addr().String(), BindDN: ds.ReaderDN(), BindPassword: ldapbench.ReaderPassword, Base: "ou=people," + ds.Base,
	})

	// The load's garbage is returned now rather than during the first
	// measurement.
	debug.FreeOSMemory()
	for _, q := range []string{"user012345", "user0123", "user01"} {
		kinds := []string{"console", "ldap", "console-json"}
		if q == "user012345" {
			kinds = append(kinds, "http")
		}
		b.Run(q, func(b *testing.B) {
			stop := profileCPU(b, q)
			b.ResetTimer()
			spent, err := clients.alternate(kinds, q, b.N)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			stop()
			for _, kind := range kinds {
				b.ReportMetric(float64(spent[kind].cpu)/float64(b.N), kind+"-cpu-ns/op")
				b.ReportMetric(float64(spent[kind].heap)/float64(b.N), kind+"-B/op")
			}
			b.ReportMetric(float64(spent["console"].cpu)/float64(spent["ldap"].cpu), "console/ldap")
			b.ReportMetric(float64(spent["console-json"].cpu)/float64(spent["ldap"].cpu), "console-json/ldap")
		})
	}
}

// serverLabel labels this goroutine, and those it starts, as kind's server.
func serverLabel(kind string) {
	pprof.SetGoroutineLabels(pprof.WithLabels(context.Background(), pprof.Labels("server", kind)))
}

// serverCost is what the servers spent on one kind of search.
type serverCost struct {
	cpu  time.Duration
	heap uint64
}

// alternateRounds is how many turns each kind takes in a measurement: the
// kinds take turns, each in a different order, so that a slow phase of the
// machine falls on all of them.
const alternateRounds = 10

// alternate makes n searches of each kind for q in turns and returns the
// servers' cost per kind.
func (c *searchClients) alternate(kinds []string, q string, n int) (map[string]serverCost, error) {
	spent := map[string]serverCost{}
	for round, done := 0, 0; done < n; round++ {
		chunk := min(max(n/alternateRounds, 1), n-done)
		for i := range kinds {
			kind := kinds[(round+i)%len(kinds)]
			heap := heapAllocated()
			cpu := cpuClock()
			if err := c.run(kind, q, chunk); err != nil {
				return nil, err
			}
			cpu = cpuClock() - cpu
			cost := spent[kind]
			spent[kind] = serverCost{cpu: cost.cpu + cpu, heap: cost.heap + heapAllocated() - heap}
		}
		done += chunk
	}
	return spent, nil
}

// searchTarget is what the client process needs to reach both servers.
type searchTarget struct {
	ConsoleURL, FloorURL, Cookie         string
	LDAPAddr, BindDN, BindPassword, Base string
}

// searchClients is the client process: it reads "kind query n" lines and
// answers each with a line once it has made the n searches.
type searchClients struct {
	in  io.WriteCloser
	out *bufio.Reader
}

const searchTargetEnv = "ATRIUM_BENCH_SEARCH_TARGET"

func startSearchClients(b *testing.B, target searchTarget) *searchClients {
	raw, _ := json.Marshal(target)
	cmd := exec.Command(os.Args[0], "-test.run=^TestUserSearchClientProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), searchTargetEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	return &searchClients{in: in, out: bufio.NewReader(out)}
}

func (c *searchClients) run(kind, q string, n int) error {
	if _, err := fmt.Fprintf(c.in, "%s %s %d\n", kind, q, n); err != nil {
		return err
	}
	for {
		line, err := c.out.ReadString('\n')
		if err != nil {
			return fmt.Errorf("client process: %w", err)
		}
		switch {
		case line == "done\n":
			return nil
		case strings.HasPrefix(line, "error "):
			return fmt.Errorf("client process: %s", strings.TrimSpace(line))
		}
	}
}

// TestUserSearchClientProcess is the client side of BenchmarkUserSearch,
// run by it as a process of its own; on its own it does nothing.
func TestUserSearchClientProcess(t *testing.T) {
	raw := os.Getenv(searchTargetEnv)
	if raw == "" {
		t.Skip("the client process of BenchmarkUserSearch")
	}
	var target searchTarget
	if err := json.Unmarshal([]byte(raw), &target); err != nil {
		t.Fatal(err)
	}
	conn, err := ldap.DialURL("ldap://" + target.LDAPAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(target.BindDN, target.BindPassword); err != nil {
		t.Fatal(err)
	}
	live, err := dialLiveSearch(target.ConsoleURL, target.Cookie)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	search := map[string]func(string) error{
		"console":      func(q string) error { return liveSearch(live, q) },
		"console-json": func(q string) error { return consoleSearch(target.ConsoleURL, target.Cookie, q) },
		"http":         func(q string) error { return consoleSearch(target.FloorURL, "", q) },
		"ldap":         func(q string) error { return ldapSearch(conn, target.Base, q) },
	}
	lines := bufio.NewScanner(os.Stdin)
	for lines.Scan() {
		var kind, q string
		var n int
		if _, err := fmt.Sscan(lines.Text(), &kind, &q, &n); err != nil {
			t.Fatal(err)
		}
		err := error(nil)
		for i := 0; i < n && err == nil; i++ {
			err = search[kind](q)
		}
		if err != nil {
			fmt.Printf("error %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Println("done")
		}
	}
}

func consoleSearch(base, cookie, q string) error {
	req, _ := http.NewRequest("GET", base+"/admin/users?format=json&q="+q, nil)
	req.Header.Set("Cookie", cookie)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var page struct{ Users []json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&page); resp.StatusCode != 200 || err != nil || len(page.Users) == 0 {
		return fmt.Errorf("console search %s: %d %v, %d users", q, resp.StatusCode, err, len(page.Users))
	}
	return nil
}

// dialLiveSearch opens the users page's live socket as the page does.
func dialLiveSearch(base, cookie string) (*websocket.Conn, error) {
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/admin/live", http.Header{"Cookie": {cookie}, "Origin": {base}})
	return conn, err
}

func liveSearch(conn *websocket.Conn, q string) error {
	if err := conn.WriteJSON(map[string]string{"kind": "users", "q": q}); err != nil {
		return err
	}
	var page struct{ Users []json.RawMessage }
	if err := conn.ReadJSON(&page); err != nil || len(page.Users) == 0 {
		return fmt.Errorf("live search %s: %v, %d users", q, err, len(page.Users))
	}
	return nil
}

func ldapSearch(conn *ldap.Conn, base, q string) error {
	filter := "(|(uid=" + q + "*)(mail=" + q + "*)(cn=" + q + "*))"
	res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 50, 0, false, filter, []string{"uid", "cn", "mail"}, nil))
	if (err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded)) || res == nil || len(res.Entries) == 0 {
		return fmt.Errorf("ldap search %s: %v", q, err)
	}
	return nil
}

// profileCPU profiles the CPU until the returned stop into the folder
// ATRIUM_BENCH_CPUPROFILES names (if it does), one file per name: unlike
// -cpuprofile, without the 30 s of loading the users.
func profileCPU(b *testing.B, name string) (stop func()) {
	dir := os.Getenv("ATRIUM_BENCH_CPUPROFILES")
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, name+".prof"))
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// heapAllocated is how many bytes this process has allocated on the heap.
func heapAllocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// cpuClock is the CPU time this process has used, user and system.
func cpuClock() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
