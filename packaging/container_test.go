package packaging

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// TestContainerImage builds the image with `make image` and starts it.
// The container uses the host's network, so it listens on loopback
// without port forwarding (which needs iptables).
//
// Two things this sandbox and some CI hosts need, both detected, not
// assumed:
//   - crun, podman's default runtime, refuses hosts with cgroups v1 and a
//     cgroup2 hierarchy that has controllers ("hybrid mode"); runc runs
//     there, so the test uses it when crun says so.
//   - podman as root gives containers open-file and process limits above
//     the host's hard limits, which fails without CAP_SYS_RESOURCE; the
//     test asks for modest limits instead.
//
// podman runs a HEALTHCHECK on a schedule through systemd timers, which
// need systemd as init; the test runs the check itself with `podman
// healthcheck run`, which runs the image's HEALTHCHECK command once.
func TestContainerImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a container image; run without -short")
	}
	podman := testenv.Tool(t, "podman", "podman")
	image := fmt.Sprintf("localhost/atrium-test:%d", time.Now().UnixNano())
	cmd := exec.Command("make", "-C", "..", "image", "IMAGE="+image, "IMAGE_DIR="+filepath.Join(t.TempDir(), "image"), "VERSION=v9.9.9-test")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make image: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command(podman, "rmi", "-f", image).Run() })
	p := &pod{t: t, bin: podman, global: runtimeFor(t, podman, image)}

	httpAddr := testenv.FreeAddr(t)
	name := strings.ReplaceAll(strings.TrimPrefix(image, "localhost/"), ":", "-")
	p.run("run", "-d", "--name", name, "--network", "host", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096",
		"-e", "ATRIUM_HTTP_ADDR="+httpAddr, "-e", "ATRIUM_LDAP_ADDR="+testenv.FreeAddr(t), "-e", "ATRIUM_LDAPS_ADDR="+testenv.FreeAddr(t),
		"-e", "ATRIUM_EXTERNAL_URL=http://"+httpAddr, image)
	t.Cleanup(func() { exec.Command(podman, append(p.global, "rm", "-f", "-v", name)...).Run() })

	waitHealthy(t, "http://"+httpAddr+"/healthz", func() string { return p.run("logs", name) })
	p.run("healthcheck", "run", name) // exits non-zero unless healthy
	if user := p.run("top", name, "user"); !strings.Contains(user, "65532") {
		t.Errorf("the server does not run as the image's user 65532:\n%s", user)
	}
	if out := p.run("exec", name, "/atrium", "version"); !strings.HasPrefix(out, "atrium v9.9.9-test\n") {
		t.Errorf("atrium version in the image: %q", out)
	}
}

type pod struct {
	t      *testing.T
	bin    string
	global []string // options before the subcommand (--runtime)
}

func (p *pod) run(args ...string) string {
	p.t.Helper()
	out, err := exec.Command(p.bin, append(p.global, args...)...).CombinedOutput()
	if err != nil {
		p.t.Fatalf("podman %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// runtimeFor returns the podman options that run containers here: none,
// or --runtime runc where crun refuses the host's hybrid cgroups.
func runtimeFor(t *testing.T, podman, image string) []string {
	t.Helper()
	args := []string{"run", "--rm", "--no-healthcheck", "--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096", image, "version"}
	out, err := exec.Command(podman, args...).CombinedOutput()
	if err == nil {
		return nil
	}
	if !strings.Contains(string(out), "cgroups in hybrid mode not supported") {
		t.Fatalf("podman run: %v\n%s", err, out)
	}
	runc := testenv.Tool(t, "runc", "runc")
	return []string{"--runtime", runc}
}

func waitHealthy(t *testing.T, url string, logs func() string) {
	t.Helper()
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := client.Get(url); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && strings.TrimSpace(string(body)) == "ok" {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not answer ok within 30s; container log:\n%s", url, logs())
}
