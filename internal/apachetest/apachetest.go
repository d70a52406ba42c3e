package apachetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"text/template"
	"time"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// Modules is where Debian installs Apache's modules.
const Modules = "/usr/lib/apache2/modules"

// head is the part of apache2.conf every test shares: one small server on
// Port that serves Dir/htdocs (server-side includes loaded, for pages that
// show what the module accepted) and logs to Dir/error.log.
const head = `ServerRoot "{{.Dir}}"
ServerName 127.0.0.1
Listen 127.0.0.1:{{.Port}}
LoadModule mpm_event_module {{.Modules}}/mod_mpm_event.so
LoadModule authn_core_module {{.Modules}}/mod_authn_core.so
LoadModule authz_core_module {{.Modules}}/mod_authz_core.so
LoadModule authz_user_module {{.Modules}}/mod_authz_user.so
LoadModule include_module {{.Modules}}/mod_include.so
{{with .User}}User {{.}}
Group {{.}}
{{end -}}
PidFile "{{.Dir}}/apache2.pid"
DefaultRuntimeDir "{{.Dir}}"
ErrorLog "{{.Dir}}/error.log"
DocumentRoot "{{.Dir}}/htdocs"
ServerLimit 1
ThreadsPerChild 8
MaxRequestWorkers 8
<Directory />
    Require all granted
</Directory>
`

// Config is an apache2.conf template: the shared server settings, then
// body, which loads the test's module and configures it. It panics on a
// template error, for use in a package variable.
func Config(body string) *template.Template {
	return template.Must(template.New("apache2.conf").Parse(head + body))
}

// Server is one apache2 for one test.
type Server struct {
	// Dir holds apache2.conf, htdocs and error.log. Apache drops root for
	// another account before it serves, so Dir is readable by anyone,
	// unlike t.TempDir.
	Dir      string
	URL      string // http://127.0.0.1:port, set before each start attempt
	ErrorLog string
	apache   string
	ping     string // what htdocs/ping.txt holds
}

// New finds apache2 and module (such as "mod_auth_mellon"), skipping the
// test, or failing it under CI, when debianPackage is not installed, and
// makes Dir with an empty htdocs. Dir is removed when the test ends.
func New(t *testing.T, module, debianPackage string) *Server {
	t.Helper()
	apache := testenv.Tool(t, "/usr/sbin/apache2", "apache2")
	if _, err := os.Stat(filepath.Join(Modules, module+".so")); err != nil {
		testenv.Missing(t, module+" is not installed (apt-get install "+debianPackage+")")
	}
	dir, err := os.MkdirTemp("", "atrium-apache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	token := make([]byte, 8)
	rand.Read(token)
	s := &Server{Dir: dir, ErrorLog: filepath.Join(dir, "error.log"), apache: apache, ping: hex.EncodeToString(token)}
	err = os.Chmod(dir, 0o755)
	if err == nil {
		err = os.MkdirAll(filepath.Join(dir, "htdocs"), 0o755)
	}
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, "htdocs", "ping.txt"), []byte(s.ping), 0o644)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Start runs apache2 until the test ends, with conf (made by Config)
// executed into Dir/apache2.conf. For each port it tries, it sets URL and calls vars (if
// not nil) with Dir, Modules, Port and User (the account apache switches
// to when run as root, or "") for the test to add to. It returns once
// ready reports that URL is this apache serving (nil: Dir/htdocs/ping.txt
// answers), and tries another port when the one picked was taken before
// apache bound it.
func (s *Server) Start(t *testing.T, conf *template.Template, vars func(map[string]any), ready func() bool) {
	t.Helper()
	if ready == nil {
		ready = s.answersPing
	}
	for attempt := 1; ; attempt++ {
		port, err := testenv.FreePort()
		if err != nil {
			t.Fatal(err)
		}
		s.URL = fmt.Sprintf("http://127.0.0.1:%d", port)
		v := map[string]any{"Dir": s.Dir, "Modules": Modules, "Port": port, "User": runAs()}
		if vars != nil {
			vars(v)
		}
		var buf bytes.Buffer
		if err := conf.Execute(&buf, v); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(s.Dir, "apache2.conf")
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		err = s.run(t, path, ready)
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "Address already in use") || attempt == 3 {
			t.Fatal(err)
		}
	}
}

// run starts apache2 with conf and stops it when the test ends. It
// returns once ready, or with apache's own words if it exits first.
func (s *Server) run(t *testing.T, conf string, ready func() bool) error {
	t.Helper()
	// -X: one process, in the foreground; it dies with the test binary.
	cmd := exec.Command(s.apache, "-f", conf, "-X")
	cmd.Dir = s.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	out := &testenv.Output{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start apache2: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		// The whole process group, so nothing apache started outlives it.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(s.ErrorLog)
			return fmt.Errorf("apache2 exited at start (%v):\n%s\n%s", err, out, log)
		default:
		}
		if ready() {
			t.Cleanup(func() {
				stop()
				if t.Failed() {
					log, _ := os.ReadFile(s.ErrorLog)
					t.Logf("apache2 output:\n%s\nerror.log:\n%s", out, log)
				}
			})
			return nil
		}
	}
	stop()
	return fmt.Errorf("apache2 did not serve %s within 20s:\n%s", s.URL, out)
}

// answersPing reports whether URL serves this server's ping.txt, so the
// port is this apache's and not another program's.
func (s *Server) answersPing() bool {
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Get(s.URL + "/ping.txt")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return err == nil && string(body) == s.ping
}

// runAs is the account apache switches to when started as root (it
// refuses to serve as root), and "" otherwise.
func runAs() string {
	if os.Geteuid() != 0 {
		return ""
	}
	for _, name := range []string{"www-data", "daemon", "nobody"} {
		if _, err := user.Lookup(name); err == nil {
			return name
		}
	}
	return "nobody"
}
