package main

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"fmt"
	"io"
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

	t.Run("anonymous GET /login writes nothing", func(t *testing.T) {
		flood(t, 3000, func(client *http.Client, i int) (*http.Response, error) {
			return client.Get(base + "/login")
		})
		if got := fileSize(t, db); got != startSize {
			t.Errorf("3,000 anonymous GET /login grew atrium.db from %d to %d bytes; want no growth", startSize, got)
		}
	})

	t.Run("AuthnRequests with long IDs are refused and store nothing", func(t *testing.T) {
		logBefore := srv.log.String()
		id := "id-" + strings.Repeat("a", 60<<10)
		refused := flood(t, 2000, func(client *http.Client, i int) (*http.Response, error) {
			return client.Get(floodRequestURL(t, base, id+strconv.Itoa(i)))
		})
		if refused != 2000 {
			t.Errorf("%d of 2,000 requests with 60 KB IDs were refused with 400; want all", refused)
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
		flood(t, 2000, func(client *http.Client, i int) (*http.Response, error) {
			return client.Get(floodRequestURL(t, base, id+strconv.Itoa(i)))
		})
	})

	if got := fileSize(t, db); got > startSize+1<<20 {
		t.Errorf("the floods grew atrium.db from %d to %d bytes; want at most 1 MiB more", startSize, got)
	}
	if rss := residentMB(t, srv.cmd.Process.Pid); rss > startRSS+96 {
		t.Errorf("resident memory went from %d MB to %d MB; want at most 96 MB more", startRSS, rss)
	}
	t.Logf("atrium.db %d -> %d bytes, resident %d -> %d MB", startSize, fileSize(t, db), startRSS, residentMB(t, srv.cmd.Process.Pid))

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

// flood sends n requests from floodWorkers clients that keep no cookies
// and follow no redirects, and returns how many were answered 400.
func flood(t *testing.T, n int, send func(*http.Client, int) (*http.Response, error)) (refused int) {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	next := make(chan int)
	for range floodWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for i := range next {
				resp, err := send(client, i)
				if err != nil {
					t.Error(err)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusBadRequest {
					mu.Lock()
					refused++
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return refused
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

// floodSignIn opens start in a fresh browser, signs alice in on the login
// page it leads to, and returns the page that follows.
func floodSignIn(t *testing.T, base, start string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, Timeout: 30 * time.Second}
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
