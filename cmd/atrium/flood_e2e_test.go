package main

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/internal/sitetest"
)

// Floods of sign-ins nobody finishes, sent to the real atrium serve over
// HTTP on loopback: anonymous GET /login, and AuthnRequests from a
// registered app, some with 60 KB IDs. Before issue 15 each one wrote a
// flow to bbolt (the 60 KB ID in it), so the file grew by hundreds of MB
// and each refused replay logged its whole ID.

const (
	floodEntityID = "https://sp.flood.example/saml"
	floodACS      = "https://sp.flood.example/saml/acs"
	floodWorkers  = 8
)

func TestFloodOfUnfinishedSignIns(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	c := &cli{data: data, env: testEnv(), tr: &transcript{}, served: true}
	srv := startServer(t, data, c.env, nil)
	c.ok(t, "app", "add", "flood", "--entity-id", floodEntityID, "--acs", floodACS)
	c.okIn(t, "alice-long-password\n", "user", "add", "alice", "--mail", "alice@example.com", "--password-stdin")
	base := "http://" + srv.httpAddr
	db := filepath.Join(data, "atrium.db")
	startSize, startRSS := fileSize(t, db), residentMB(t, srv.cmd.Process.Pid)

	t.Run("anonymous GET /login writes nothing and is rate-limited", func(t *testing.T) {
		got := flood(t, 3000, []string{"127.0.0.1"}, func(client *http.Client, i int) (*http.Response, error) {
			return client.Get(base + "/login")
		})
		if size := fileSize(t, db); size != startSize {
			t.Errorf("3,000 anonymous GET /login grew atrium.db from %d to %d bytes; want no growth", startSize, size)
		}
		// web.sign_ins_per_minute (120) from one address, plus what
		// refilled while the flood ran.
		if got[http.StatusSeeOther] < 120 || got[http.StatusSeeOther] > 600 || got[http.StatusTooManyRequests] == 0 {
			t.Errorf("answers to 3,000 GET /login from one address: %v; want 120 (and the refill) started, the rest 429", got)
		}
	})

	t.Run("AuthnRequests with long IDs are refused and store nothing", func(t *testing.T) {
		logBefore := srv.log.String()
		id := "id-" + strings.Repeat("a", 60<<10)
		got := flood(t, 2000, floodAddresses, func(client *http.Client, i int) (*http.Response, error) {
			return client.Get(floodRequestURL(t, base, id+strconv.Itoa(i)))
		})
		if got[http.StatusBadRequest] != 2000 {
			t.Errorf("answers to 2,000 requests with 60 KB IDs: %v; want all refused with 400", got)
		}
		logged := strings.TrimPrefix(srv.log.String(), logBefore)
		for _, line := range strings.Split(logged, "\n") {
			if len(line) > 1024 {
				t.Fatalf("a refused request logged a line of %d bytes (want < 1 KB): %.300s…", len(line), line)
			}
		}
		if per := len(logged) / 2000; per > 1024 {
			t.Errorf("refused requests logged %d bytes each; want < 1 KB", per)
		}
	})

	t.Run("AuthnRequests nobody signs in to store nothing", func(t *testing.T) {
		id := "id-" + strings.Repeat("b", 240)
		got := flood(t, 2000, floodAddresses, func(client *http.Client, i int) (*http.Response, error) {
			return client.Get(floodRequestURL(t, base, id+strconv.Itoa(i)))
		})
		if got[http.StatusSeeOther] != 2000 {
			t.Errorf("answers to 2,000 requests from %d addresses: %v; want every sign-in started", len(floodAddresses), got)
		}
	})

	if got := fileSize(t, db); got > startSize+1<<20 {
		t.Errorf("the floods grew atrium.db from %d to %d bytes; want at most 1 MiB more", startSize, got)
	}
	if rss := residentMB(t, srv.cmd.Process.Pid); rss > startRSS+96 {
		t.Errorf("resident memory went from %d MB to %d MB; want at most 96 MB more", startRSS, rss)
	}
	t.Logf("atrium.db %d -> %d bytes, resident %d -> %d MB", startSize, fileSize(t, db), startRSS, residentMB(t, srv.cmd.Process.Pid))

	// From an address that took no part in the floods.
	t.Run("an ordinary SAML sign-in still works", func(t *testing.T) {
		body := floodSignIn(t, base, floodRequestURL(t, base, "id-ordinary-request"))
		if !strings.Contains(body, `name="SAMLResponse"`) || !strings.Contains(body, floodACS) {
			t.Errorf("the sign-in after the floods did not answer the app:\n%s", body)
		}
	})
	t.Run("an ordinary portal sign-in still works", func(t *testing.T) {
		body := floodSignIn(t, base, base+"/login")
		if strings.Contains(body, `name="password"`) || strings.Contains(body, "expired") {
			t.Errorf("the portal sign-in after the floods failed:\n%s", body)
		}
	})
	srv.stop(t)
}

// floodAddresses are 32 loopback addresses, so that a flood from all of
// them stays under each one's limit of sign-ins.
var floodAddresses = func() []string {
	var out []string
	for i := range 32 {
		out = append(out, "127.0.1."+strconv.Itoa(i+1))
	}
	return out
}()

// clientFrom is an HTTP client whose connections come from the loopback
// address local, keeping cookies if jar is set; it follows no redirects
// unless follow is set.
func clientFrom(local string, jar, follow bool) *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(local)}, Timeout: 5 * time.Second}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		},
	}}
	if jar {
		c.Jar, _ = cookiejar.New(nil)
	}
	if !follow {
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	}
	return c
}

// flood sends n requests from floodWorkers goroutines, request i from
// locals[i%len(locals)] with no cookies and no redirects followed, and
// counts the answers by status.
func flood(t *testing.T, n int, locals []string, send func(*http.Client, int) (*http.Response, error)) map[int]int {
	t.Helper()
	clients := make([]*http.Client, len(locals))
	for i, local := range locals {
		clients[i] = clientFrom(local, false, false)
	}
	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for range floodWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				resp, err := send(clients[i%len(clients)], i)
				if err != nil {
					t.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return statuses
}

// floodRequestURL is an HTTP-Redirect AuthnRequest of the flood app with id.
func floodRequestURL(t *testing.T, base, id string) string {
	t.Helper()
	xml := fmt.Sprintf(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="%s" Version="2.0" IssueInstant="%s" AssertionConsumerServiceURL="%s"><saml:Issuer>%s</saml:Issuer></samlp:AuthnRequest>`,
		id, time.Now().UTC().Format(time.RFC3339), floodACS, floodEntityID)
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(xml))
	w.Close()
	return base + "/saml/sso?" + url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString(buf.Bytes())}}.Encode()
}

// floodSignIn opens start in a fresh browser at 127.0.0.3, signs alice in on the login
// page it leads to, and returns the page that follows.
func floodSignIn(t *testing.T, base, start string) string {
	t.Helper()
	client := clientFrom("127.0.0.3", true, true)
	resp, err := client.Get(start)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `name="password"`) {
		t.Fatalf("%s did not lead to the login page: %d\n%s", start, resp.StatusCode, page)
	}
	form := sitetest.FlowFields(url.Values{"username": {"alice"}, "password": {"alice-long-password"}}, string(page))
	resp, err = client.PostForm(base+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// residentMB is the resident memory of process pid, in MB.
func residentMB(t *testing.T, pid int) int {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS in /proc status")
	return 0
}

func TestSignInsPerMinuteConfig(t *testing.T) {
	c := defaultConfig()
	c.Web.SignInsPerMinute = 0
	if got := strings.Join(c.Validate(), "\n"); !strings.Contains(got, "web.sign_ins_per_minute must be at least 1") {
		t.Errorf("Validate() = %q, want sign_ins_per_minute refused", got)
	}
	t.Setenv("ATRIUM_WEB_SIGN_INS_PER_MINUTE", "30")
	if c, err := loadConfig("", nil); err != nil || c.Web.SignInsPerMinute != 30 {
		t.Errorf("ATRIUM_WEB_SIGN_INS_PER_MINUTE read as %d (%v)", c.Web.SignInsPerMinute, err)
	}
}
