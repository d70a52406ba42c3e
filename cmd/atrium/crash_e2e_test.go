package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// The tests in this file kill atrium with SIGKILL part way through a
// change and check that the change was kept whole or not at all.

var firstStartPasswordRE = regexp.MustCompile(`password=([A-Za-z0-9]+)`)

// realHashEnv is testEnv with argon2id at its real cost, so that a kill
// can land while a password is being hashed, as it can in use.
func realHashEnv() []string {
	var env []string
	for _, kv := range testEnv() {
		if kv != "ATRIUM_TEST_FAST_HASH=1" {
			env = append(env, kv)
		}
	}
	return env
}

// TestFirstStartKilledAtRandomPoints kills `atrium serve` with SIGKILL at
// points spread over its first start, starts it again, and checks that
// admin is always in admins and that the last password shown logs in.
func TestFirstStartKilledAtRandomPoints(t *testing.T) {
	env := realHashEnv()
	// How long a whole first start takes here, to spread the kills over it.
	began := time.Now()
	calibration := startServer(t, filepath.Join(t.TempDir(), "data"), env, nil)
	firstStart := time.Since(began)
	calibration.stop(t)
	t.Logf("a first start takes %v", firstStart.Round(time.Millisecond))

	const kills = 10
	for i := range kills {
		// One kill in each tenth of the first start, at a random point in it.
		delay := time.Duration((float64(i) + rand.Float64()) / kills * float64(firstStart))
		data := filepath.Join(t.TempDir(), "data")
		killed := killServeAfter(t, data, env, delay)
		srv := startServer(t, data, env, nil)
		before, after := firstStartPasswordRE.FindAllStringSubmatch(killed, -1), firstStartPasswordRE.FindAllStringSubmatch(srv.log.String(), -1)
		shown := append(before, after...)
		if len(shown) == 0 {
			t.Fatalf("kill after %v: no admin password was ever shown\nkilled start:\n%s\nnext start:\n%s", delay, killed, srv.log)
		}
		c := &cli{data: data, env: env, tr: &transcript{}, served: true}
		admins := decodeJSON[groupRecord](t, c.ok(t, "group", "show", "admins", "--json"))
		if !slices.Equal(admins.Users, []string{"admin"}) {
			t.Errorf("kill after %v: admins holds %v, want [admin]", delay, admins.Users)
		}
		if err := bindLDAP(t, srv.ldapAddr, userDN("admin"), shown[len(shown)-1][1]); err != nil {
			t.Errorf("kill after %v: the last password shown does not log admin in: %v\nkilled start:\n%s\nnext start:\n%s", delay, err, killed, srv.log)
		}
		srv.stop(t)
		when := map[[2]bool]string{
			{false, true}: "before its password was shown", {true, true}: "between showing its password and storing it",
			{true, false}: "after it stored its password", {false, false}: "at no known point",
		}[[2]bool{len(before) > 0, len(after) > 0}]
		t.Logf("killed after %v: the first start was killed %s", delay.Round(time.Millisecond), when)
	}
}

// killServeAfter starts atrium serve on data, kills it with SIGKILL after
// delay, and returns what it printed.
func killServeAfter(t *testing.T, data string, env []string, delay time.Duration) string {
	t.Helper()
	out := &testenv.Output{}
	cmd := exec.Command(atriumBin, "serve", "--data", data, "--ldap-addr", testenv.FreeAddr(t), "--ldaps-addr", testenv.FreeAddr(t),
		"--http-addr", testenv.FreeAddr(t), "--external-url", "http://127.0.0.1")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(delay)
	if err := cmd.Process.Signal(os.Kill); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	return out.String()
}

// A first start killed after writing tls.key and before tls.crt leaves the
// key alone; the next start makes both again.
func TestFirstStartAfterAKillBetweenTLSKeyAndCertificate(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "tls.key"), []byte("-----BEGIN PRIVATE KEY-----\ncut sho"), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, data, testEnv(), nil)
	mustBind(t, srv.ldapAddr, userDN("admin"), firstStartPasswordRE.FindStringSubmatch(srv.log.String())[1])
	srv.stop(t)
}

// TestUserAddKilledAtRandomPoints kills `atrium user add` at points spread
// over its run: each user is then either absent or able to log in, never
// there without its password.
func TestUserAddKilledAtRandomPoints(t *testing.T) {
	env := realHashEnv()
	c := &cli{data: filepath.Join(t.TempDir(), "data"), env: env, tr: &transcript{}}
	began := time.Now()
	c.okIn(t, "calibrate-password\n", "user", "add", "calibrate", "--mail", "calibrate@example.com", "--password-stdin")
	run := time.Since(began)
	const kills = 10
	for i := range kills {
		uid := fmt.Sprintf("user%d", i)
		cmd := exec.Command(atriumBin, "user", "add", uid, "--mail", uid+"@example.com", "--password-stdin", "--data", c.data)
		cmd.Env, cmd.Stdin = env, strings.NewReader(uid+"-password\n")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration((float64(i) + rand.Float64()) / kills * float64(run)))
		cmd.Process.Signal(os.Kill)
		cmd.Wait()
	}
	srv := startServer(t, c.data, env, nil)
	c.served = true
	users := decodeJSON[[]userRecord](t, c.ok(t, "user", "list", "--json"))
	added := 0
	for i := range kills {
		uid := fmt.Sprintf("user%d", i)
		if _, ok := findUser(users, uid); ok {
			added++
			mustBind(t, srv.ldapAddr, userDN(uid), uid+"-password")
		}
	}
	t.Logf("a user add takes %v; %d of %d killed ones had finished", run.Round(time.Millisecond), added, kills)
	srv.stop(t)
}

// An earlier version made admin, its password and admins in three
// transactions; a kill after the first left admin alone, and every later
// start skipped the setup. Now the next start finishes it.
func TestFirstStartFinishesWhatAnEarlierVersionLeft(t *testing.T) {
	c := &cli{data: filepath.Join(t.TempDir(), "data"), env: testEnv(), tr: &transcript{}}
	c.okIn(t, "never-shown-password\n", "user", "add", "admin", "--mail", "admin@localhost.localdomain", "--name", "Administrator", "--password-stdin")
	srv := startServer(t, c.data, c.env, nil)
	shown := firstStartPasswordRE.FindStringSubmatch(srv.log.String())
	if shown == nil {
		t.Fatalf("the half-done first start was not finished:\n%s", srv.log)
	}
	mustBind(t, srv.ldapAddr, userDN("admin"), shown[1])
	c.served = true
	admins := decodeJSON[groupRecord](t, c.ok(t, "group", "show", "admins", "--json"))
	if !slices.Equal(admins.Users, []string{"admin"}) {
		t.Errorf("admins holds %v, want [admin]", admins.Users)
	}
	srv.stop(t)
}
