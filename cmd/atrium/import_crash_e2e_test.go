package main

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/boltstore"
)

// writeImportFile writes an OpenLDAP-style export of n users (from first)
// in three groups.
func writeImportFile(t *testing.T, path string, first, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := first; i < first+n; i++ {
		fmt.Fprintf(w, "dn: uid=u%06d,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: u%06d\ncn: User %d\nsn: %d\n"+
			"mail: u%06d@example.com\nuidNumber: %d\ngidNumber: 5000\nhomeDirectory: /home/u%06d\nuserPassword: {SSHA}ZGRkZGRkZGRkZGRkZGRkZGRkZGRzYWx0\n\n",
			i, baseDN, i, i, i, i, 10000+i, i)
	}
	for g := range 3 {
		fmt.Fprintf(w, "dn: cn=g%d-%d,ou=groups,%s\nobjectClass: posixGroup\ncn: g%d-%d\ngidNumber: %d\n", first, g, baseDN, first, g, 5000+first+g)
		for i := first; i < first+n; i++ {
			fmt.Fprintf(w, "memberUid: u%06d\n", i)
		}
		fmt.Fprintln(w)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// checkStore opens the store of data and runs the directory's check.
func checkStore(t *testing.T, data string) {
	t.Helper()
	s, err := boltstore.Open(filepath.Join(data, "atrium.db"), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	d, err := directory.New(context.Background(), s, directory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	problems, err := d.Check(context.Background())
	if err != nil || len(problems) > 0 {
		t.Fatalf("check: %v %v", problems, err)
	}
}

// TestImportKilledAtRandomPoints kills `atrium import` with SIGKILL at
// points spread over an import of 20,000 users (larger than one of the
// import's checkpoints) into a store that holds an earlier import: the
// store is each time either as it was, whole, or holds the whole import.
func TestImportKilledAtRandomPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 20,000 users several times")
	}
	dir := t.TempDir()
	small, large := filepath.Join(dir, "small.ldif"), filepath.Join(dir, "large.ldif")
	writeImportFile(t, small, 0, 100)
	writeImportFile(t, large, 100, 20_000)
	env := testEnv()
	prepare := func(name string) *cli {
		c := &cli{data: filepath.Join(dir, name), env: env, tr: &transcript{}}
		c.ok(t, "import", small)
		return c
	}
	exportOf := func(c *cli) string {
		out := filepath.Join(dir, "export.ldif")
		c.ok(t, "export", out)
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		_, body, _ := strings.Cut(string(b), "\n") // past the header, which has the time
		return body
	}
	calibration := prepare("calibration")
	began := time.Now()
	calibration.ok(t, "import", large)
	whole := time.Since(began)
	t.Logf("the import takes %v", whole.Round(time.Millisecond))

	const kills = 5
	for i := range kills {
		c := prepare(fmt.Sprint("killed", i))
		before := exportOf(c)
		delay := time.Duration((float64(i) + rand.Float64()) / kills * float64(whole))
		cmd := exec.Command(atriumBin, "import", large, "--data", c.data)
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		cmd.Process.Signal(os.Kill)
		cmd.Wait()
		checkStore(t, c.data)
		after := exportOf(c)
		switch users := strings.Count(after, "dn: uid="); {
		case after == before:
			t.Logf("killed after %v: the store is as it was", delay.Round(time.Millisecond))
		case users == 20_100 && strings.Count(before, "dn: uid=") == 100:
			t.Logf("killed after %v: the import had finished", delay.Round(time.Millisecond))
		default:
			t.Fatalf("killed after %v: the store holds %d users, neither the 100 before nor the 20,100 after", delay.Round(time.Millisecond), users)
		}
		// The next import goes through, whatever the kill left behind.
		if after == before {
			c.ok(t, "import", large)
			checkStore(t, c.data)
		}
	}
}
