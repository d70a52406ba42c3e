package directory_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

const crashEnv = "ATRIUM_CRASH_CHILD_DB"

// TestCrashChild is the child of TestCrashSafety: it writes users until it
// is killed, reporting each one once its transaction has committed.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("runs only as the child of TestCrashSafety")
	}
	ctx := context.Background()
	s := openStore(t, path)
	d, err := directory.New(ctx, s, directory.Options{PasswordParams: password.TestParams})
	must(t, err)
	if _, err := d.Group(ctx, "crashers"); err != nil {
		_, err = d.CreateGroup(ctx, directory.Group{CN: "crashers"})
		must(t, err)
	}
	users, err := d.ListUsers(ctx)
	must(t, err)
	for i := len(users); ; i++ {
		uid := fmt.Sprintf("crash%05d", i)
		_, err := d.CreateUser(ctx, directory.User{UID: uid, Mail: uid + "@example.com", DisplayName: "Crash " + uid, SSHKeys: []string{"ssh-ed25519 AAAA" + uid}})
		must(t, err)
		_, err = d.ChangeMembers(ctx, "crashers", []directory.MemberRef{{Name: uid}}, nil)
		must(t, err)
		fmt.Printf("done %s\n", uid)
	}
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes; skipped in -short")
	}
	path := filepath.Join(t.TempDir(), "atrium.db")
	var reported []string
	for round := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v=false")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		lines := make(chan string)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		// Kill at a random moment once the child has started writing.
		deadline := time.After(time.Duration(20+rand.IntN(200)) * time.Millisecond)
		started := false
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				if uid, ok := strings.CutPrefix(l, "done "); ok {
					reported = append(reported, uid)
					started = true
				}
			case <-deadline:
				if !started {
					deadline = time.After(10 * time.Millisecond)
					continue
				}
				must(t, cmd.Process.Signal(syscall.SIGKILL))
				for l := range lines {
					if uid, ok := strings.CutPrefix(l, "done "); ok {
						reported = append(reported, uid)
					}
				}
				break read
			}
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("round %d: child ended on its own: %v", round, err)
		}
		checkAfterCrash(t, path, reported)
	}
	t.Logf("%d users reported across 20 kills", len(reported))
}

func checkAfterCrash(t *testing.T, path string, reported []string) {
	t.Helper()
	ctx := context.Background()
	s := openStore(t, path)
	defer s.Close()
	if err := s.Check(); err != nil {
		t.Fatalf("store inconsistent after SIGKILL: %v", err)
	}
	d, err := directory.New(ctx, s, directory.Options{})
	must(t, err)
	defer d.Close()
	must(t, d.View(ctx, func(ctx context.Context, r directory.Reader) error {
		g, err := r.GroupByCN("crashers")
		if err != nil {
			return err
		}
		for _, uid := range reported {
			u, err := r.UserByUID(uid)
			if err != nil {
				t.Fatalf("user %s reported as created is missing: %v", uid, err)
			}
			if u.Mail != uid+"@example.com" || u.DisplayName != "Crash "+uid || len(u.SSHKeys) != 1 {
				t.Fatalf("user %s is not whole: %+v", uid, u)
			}
			byMail, err1 := r.UserByMail(u.Mail)
			byNum, err2 := r.UserByUIDNumber(u.UIDNumber)
			if err1 != nil || err2 != nil || byMail.ID != u.ID || byNum.ID != u.ID {
				t.Fatalf("indexes of %s disagree: %v %v", uid, err1, err2)
			}
			if !slices.Contains(g.Users, u.ID) {
				t.Fatalf("membership of %s lost", uid)
			}
		}
		return nil
	}))
}
