package main

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// scrapeMetrics fetches /metrics from addr and returns the page and each
// series with its value.
func scrapeMetrics(t *testing.T, addr string) (string, map[string]float64) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", resp.StatusCode, body)
	}
	series := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		series[line[:i]] = v
	}
	return string(body), series
}

// promtoolCheck runs `promtool check metrics` on a scrape.
func promtoolCheck(t *testing.T, promtool, page string) {
	t.Helper()
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// startMetricsServer starts atrium serve with alice, two SAML apps that
// may be opened from Atrium (wiki for everyone, hr for a group alice is
// not in) and a metrics listener, and returns it with the metrics address
// and the web base URL.
func startMetricsServer(t *testing.T, env []string) (*atriumServer, string, string) {
	c := &cli{data: filepath.Join(t.TempDir(), "data"), env: env, tr: &transcript{}}
	c.okIn(t, "alice-password\n", "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	c.ok(t, "group", "add", "hr")
	for app, extra := range map[string][]string{"wiki": nil, "hr": {"--groups", "hr"}} {
		c.ok(t, append([]string{"app", "add", app, "--entity-id", "https://" + app + ".example/", "--acs", "https://" + app + ".example/acs", "--idp-initiated"}, extra...)...)
	}
	metricsAddr := testenv.FreeAddr(t)
	// Sessions need a secure context, which localhost is.
	srv := startServerAt(t, c.data, env, c.tr, func(httpAddr string) string {
		return "http://localhost:" + httpAddr[strings.LastIndex(httpAddr, ":")+1:]
	}, "--metrics-addr", metricsAddr)
	return srv, metricsAddr, "http://localhost:" + srv.httpAddr[strings.LastIndex(srv.httpAddr, ":")+1:]
}

// webSignIn signs uid in through the real login page and returns the
// signed-in client.
func webSignIn(t *testing.T, base, uid, pw string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := client.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	login, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if status, page := mfaSubmit(t, client, base, string(login), url.Values{"username": {uid}, "password": {pw}}); status != http.StatusOK || strings.Contains(page, `name="password"`) {
		t.Fatalf("sign-in as %s: %d\n%s", uid, status, page)
	}
	return client
}

// launchApp opens a SAML app from Atrium and returns the page's status and
// whether it posts a SAML Response.
func launchApp(t *testing.T, client *http.Client, base, app string) (int, bool) {
	t.Helper()
	resp, err := client.Get(base + "/saml/launch/" + app)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.Contains(string(body), `name="SAMLResponse"`)
}

// TestServeMetrics: the real server's /metrics, on its own listener,
// passes promtool, has the runtime, process, store, certificate and backup
// metrics, and its counters move with LDAP operations, a web sign-in and
// SAML logins.
func TestServeMetrics(t *testing.T) {
	promtool := testenv.Tool(t, "promtool", "prometheus")
	backups := t.TempDir()
	srv, metricsAddr, base := startMetricsServer(t, testEnv("ATRIUM_BACKUP_DIR="+backups))
	defer srv.stop(t)
	if resp, err := http.Get("http://" + srv.httpAddr + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("/metrics is served on the user-facing HTTP listener too")
		}
	}
	page, before := scrapeMetrics(t, metricsAddr)
	promtoolCheck(t, promtool, page)

	mustBind(t, srv.ldapAddr, userDN("alice"), "alice-password")
	mustNotBind(t, srv.ldapAddr, userDN("alice"), "wrong")
	client := webSignIn(t, base, "alice", "alice-password")
	if status, posts := launchApp(t, client, base, "wiki"); status != http.StatusOK || !posts {
		t.Fatalf("launching wiki: %d, posts a SAML Response: %v", status, posts)
	}
	if _, posts := launchApp(t, client, base, "hr"); posts {
		t.Fatal("hr was given an assertion for a user outside its groups")
	}

	var after map[string]float64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		page, after = scrapeMetrics(t, metricsAddr)
		if _, ok := after["atrium_backup_last_success_timestamp_seconds"]; ok || time.Now().After(deadline) {
			break // the first scheduled backup is taken at start
		}
	}
	promtoolCheck(t, promtool, page)
	for series, want := range map[string]float64{
		`atrium_ldap_operations_total{op="bind",result="success"}`:             1,
		`atrium_ldap_operations_total{op="bind",result="invalid_credentials"}`: 1,
		`atrium_ldap_operation_duration_seconds_count{op="bind"}`:              2,
		`atrium_logins_total{app="",result="ok",service="ldap"}`:               1,
		`atrium_logins_total{app="",result="fail",service="ldap"}`:             1,
		`atrium_logins_total{app="",result="ok",service="web"}`:                1,
		`atrium_logins_total{app="wiki",result="ok",service="saml"}`:           1,
		`atrium_logins_total{app="hr",result="fail",service="saml"}`:           1,
	} {
		if got := after[series] - before[series]; got != want {
			t.Errorf("%s went up by %v, want %v", series, got, want)
		}
	}
	if after[`atrium_store_transaction_duration_seconds_count{kind="view"}`] <= before[`atrium_store_transaction_duration_seconds_count{kind="view"}`] {
		t.Error("store transactions are not counted")
	}
	now := float64(time.Now().Unix())
	for _, gauge := range []string{`atrium_store_size_bytes`, `atrium_certificate_expiry_timestamp_seconds{use="ldaps"}`,
		`atrium_certificate_expiry_timestamp_seconds{use="saml"}`, `atrium_backup_last_success_timestamp_seconds`,
		`go_goroutines`, `process_start_time_seconds`, fmt.Sprintf(`atrium_build_info{version=%q}`, "dev")} {
		if after[gauge] <= 0 {
			t.Errorf("%s = %v, want a positive value", gauge, after[gauge])
		}
	}
	if exp := after[`atrium_certificate_expiry_timestamp_seconds{use="ldaps"}`]; exp < now {
		t.Errorf("the LDAPS certificate's expiry %v is in the past", exp)
	}
	if b := after[`atrium_backup_last_success_timestamp_seconds`]; b < now-120 || b > now+1 {
		t.Errorf("last backup at %v, want about now (%v)", b, now)
	}
	checkShippedQueries(t, page)
}

// etcdOnly are metrics a server on a bbolt file does not export.
var etcdOnly = map[string]bool{"atrium_store_mirror_lag_seconds": true}

// checkShippedQueries: every Atrium metric that the shipped dashboard and
// alert rules query is one the server exports, so they cannot drift.
func checkShippedQueries(t *testing.T, page string) {
	t.Helper()
	name := regexp.MustCompile(`\batrium_[a-z_]+`)
	for _, file := range []string{"grafana-dashboard.json", "prometheus-alerts.yml"} {
		raw, err := os.ReadFile(filepath.Join("..", "..", "packaging", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range name.FindAllString(string(raw), -1) {
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				if base, ok := strings.CutSuffix(n, suffix); ok && strings.Contains(page, "# TYPE "+base+" histogram") {
					n = base
				}
			}
			if !etcdOnly[n] && !strings.Contains(page, "# TYPE "+n+" ") {
				t.Errorf("%s queries %s, which atrium serve does not export", file, n)
			}
		}
	}
}

// TestServeMetricsLabelsBounded: binds as 100 distinct DNs that do not
// exist add no series: names never become label values.
func TestServeMetricsLabelsBounded(t *testing.T) {
	srv, metricsAddr, _ := startMetricsServer(t, testEnv())
	defer srv.stop(t)
	unknown := func(i int) {
		dn := userDN(fmt.Sprintf("nobody%d", i))
		if i%2 == 1 {
			dn = fmt.Sprintf("cn=stranger%d,ou=elsewhere,%s", i, baseDN)
		}
		mustNotBind(t, srv.ldapAddr, dn, "guess")
	}
	// Enough failures to reach backoff, so the throttled series exist.
	for i := range 20 {
		unknown(i)
	}
	_, before := scrapeMetrics(t, metricsAddr)
	for i := range 100 {
		unknown(1000 + i)
	}
	_, after := scrapeMetrics(t, metricsAddr)
	var added []string
	for s := range after {
		if _, ok := before[s]; !ok {
			added = append(added, s)
		}
	}
	if len(added) > 0 || len(after) != len(before) {
		t.Fatalf("100 unknown bind DNs took the series from %d to %d; new: %v", len(before), len(after), added)
	}
	if got := after[`atrium_ldap_operations_total{op="bind",result="invalid_credentials"}`] - before[`atrium_ldap_operations_total{op="bind",result="invalid_credentials"}`]; got != 100 {
		t.Fatalf("%v failed binds counted, want 100", got)
	}
}
