package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// unitForTest is atrium.service with ExecStart pointing at an executable
// that exists here (this test binary), since systemd-analyze verify
// refuses a unit whose program is missing and /usr/bin/atrium is not
// installed on a build machine.
func unitForTest(t *testing.T) string {
	t.Helper()
	raw, err := os.ReadFile("atrium.service")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.Replace(string(raw), "ExecStart=/usr/bin/atrium ", "ExecStart="+self+" ", 1)
	if unit == string(raw) {
		t.Fatal("atrium.service has no ExecStart=/usr/bin/atrium")
	}
	path := filepath.Join(t.TempDir(), "atrium.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSystemdUnitVerifies(t *testing.T) {
	analyze := testenv.Tool(t, "systemd-analyze", "systemd")
	out, err := exec.Command(analyze, "verify", unitForTest(t)).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// systemd-analyze rates exposure from 0 (PERFECT) to 10 (UNSAFE); OK is
// 1.0 to 4.9. --offline (systemd 250 and later; Debian 12 has 252) reads
// the unit file instead of asking a running systemd, and --threshold=49
// makes it fail above 4.9.
var exposureRE = regexp.MustCompile(`Overall exposure level for atrium\.service: ([0-9.]+) (\w+)`)

func TestSystemdUnitSecurityIsOK(t *testing.T) {
	analyze := testenv.Tool(t, "systemd-analyze", "systemd")
	out, err := exec.Command(analyze, "security", "--offline=yes", "--threshold=49", "--no-pager", unitForTest(t)).CombinedOutput()
	m := exposureRE.FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	switch level := string(m[2]); level {
	case "PERFECT", "SAFE", "OK":
		t.Logf("exposure %s %s", m[1], level)
	default:
		t.Fatalf("exposure %s %s, want OK or better:\n%s", m[1], level, out)
	}
}
