package ldapserver

import (
	"bufio"
	"net"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/metrics"
)

// scrape returns every series of m's /metrics page with its value.
func scrape(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := map[string]float64{}
	sc := bufio.NewScanner(rec.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsCountOperations: operations are counted by type and result
// code, with their latency, over TCP to the real server.
func TestMetricsCountOperations(t *testing.T) {
	m := metrics.New(metrics.Options{})
	_, addr := startServer(t, newFixture(t, Access{}), func(s *Server) { s.Metrics = m })
	c := dial(t, addr)
	if err := c.Bind("uid=alice,ou=people,dc=example,dc=com", "wrong"); err == nil {
		t.Fatal("a wrong password bound")
	}
	if err := c.Bind("cn=reader,ou=services,dc=example,dc=com", "reader-password"); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := c.Search(ldap.NewSearchRequest("dc=example,dc=com", ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, "(uid=alice)", []string{"uid"}, nil)); err != nil {
			t.Fatal(err)
		}
	}
	got := scrape(t, m)
	for series, want := range map[string]float64{
		`atrium_ldap_operations_total{op="bind",result="invalid_credentials"}`: 1,
		`atrium_ldap_operations_total{op="bind",result="success"}`:             1,
		`atrium_ldap_operations_total{op="search",result="success"}`:           3,
		`atrium_ldap_operation_duration_seconds_count{op="search"}`:            3,
		`atrium_ldap_connections`:                                              1,
	} {
		if got[series] != want {
			t.Errorf("%s = %v, want %v", series, got[series], want)
		}
	}
}

// TestMetricsCountRefusedConnections: a connection over the per-address
// cap is counted as refused and not as open; a closed one is counted out.
func TestMetricsCountRefusedConnections(t *testing.T) {
	m := metrics.New(metrics.Options{})
	_, addr := startServer(t, newFixture(t, Access{}), func(s *Server) { s.Metrics = m; s.MaxConnsPerAddress = 1 })
	first := dial(t, addr)
	if _, err := first.WhoAmI(nil); err != nil {
		t.Fatal(err)
	}
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	second.Read(make([]byte, 512)) // the notice of disconnection, then EOF
	got := scrape(t, m)
	if got[`atrium_ldap_connections_refused_total{reason="per_address"}`] != 1 || got[`atrium_ldap_connections`] != 1 {
		t.Fatalf("refused %v, open %v; want 1 and 1", got[`atrium_ldap_connections_refused_total{reason="per_address"}`], got[`atrium_ldap_connections`])
	}
	first.Close()
	for deadline := time.Now().Add(5 * time.Second); scrape(t, m)[`atrium_ldap_connections`] != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a closed connection is still counted open")
		}
	}
}
