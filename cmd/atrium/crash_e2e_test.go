package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The tests in this file kill atrium with SIGKILL part way through a
// change and check that the change was kept whole or not at all.

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
