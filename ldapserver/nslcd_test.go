package ldapserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/testenv"
)

// TestNslcd points Debian's nslcd at Atrium, set up as its guide in
// docs/clients says, and asks NSS for alice, staff and alice's groups, the
// way a Linux host sees them; and, as in issue 10's scenario (users first,
// then the groups staff and devs), that bob's primary group is his private
// group, not a group he is not in.
//
// nslcd reads /etc/nslcd.conf and listens on /var/run/nslcd/socket, both
// compiled in (0.9.12 has no option for either), and libnss_ldap.so.2
// connects to that same socket. So nslcd runs in its own mount namespace,
// with the test's nslcd.conf and nsswitch.conf bound over /etc and a fresh
// tmpfs on /run; getent and id join that namespace with nsenter. (`getent
// -s ldap` loads libnss_ldap.so.2 by name without nsswitch.conf; `id` needs
// the bound nsswitch.conf.) Nothing on
// the host changes, and an nslcd the host runs (or one a package started)
// neither sees these queries nor disturbs them.
func TestNslcd(t *testing.T) {
	nslcd := testenv.Tool(t, "/usr/sbin/nslcd", "nslcd")
	if _, err := os.Stat("/lib/x86_64-linux-gnu/libnss_ldap.so.2"); err != nil {
		if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/libnss_ldap.so.2"); err != nil {
			testenv.Missing(t, "libnss_ldap.so.2 is not installed (apt-get install libnss-ldapd)")
		}
	}
	unshare := testenv.Tool(t, "unshare", "util-linux")
	nsenter := testenv.Tool(t, "nsenter", "util-linux")
	getent := testenv.Tool(t, "getent", "libc-bin")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the nslcd test mounts in a private mount namespace and needs root")
	}

	f := newFixture(t, Access{})
	ctx := context.Background()
	if _, err := f.dir.CreateGroup(ctx, directory.Group{CN: "wheelx"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.dir.ChangeMembers(ctx, "wheelx", []directory.MemberRef{{Name: "alice"}}, nil); err != nil {
		t.Fatal(err)
	}
	devs, err := f.dir.CreateGroup(ctx, directory.Group{CN: "devs"})
	if err != nil {
		t.Fatal(err)
	}
	guide, cert := guideServer(t, f, "nslcd")

	dir := t.TempDir()
	conf := filepath.Join(dir, "nslcd.conf")
	nsswitch := filepath.Join(dir, "nsswitch.conf")
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The guide's own files, over StartTLS with Atrium's certificate.
	certFile := filepath.Join(dir, "atrium.crt")
	write(certFile, string(cert))
	write(conf, configFile(t, guide, "nslcd.conf", map[string]string{"bindpw": guideBindPassword, "tls_cacertfile": certFile}))
	write(nsswitch, configFile(t, guide, "nsswitch.conf", nil))

	script := strings.Join([]string{
		"set -e",
		"mount -t tmpfs atrium-nslcd /run",
		"mkdir -m 0755 /run/nslcd",
		`mount --bind "$1" /etc/nslcd.conf`,
		`mount --bind "$2" /etc/nsswitch.conf`,
		`exec "$3" -d`,
	}, "\n")
	d := startPrivate(t, "nslcd", unshare, script, conf, nsswitch, nslcd)
	d.waitFor(t, fmt.Sprintf("/proc/%d/root/run/nslcd/socket", d.Pid))

	inNS := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		full := append([]string{fmt.Sprintf("--mount=/proc/%d/ns/mnt", d.Pid), "--"}, args...)
		out, err := exec.CommandContext(ctx, nsenter, full...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}

	staff, err := f.dir.Group(ctx, "staff")
	if err != nil {
		t.Fatal(err)
	}
	wheel, err := f.dir.Group(ctx, "wheelx")
	if err != nil {
		t.Fatal(err)
	}

	passwd := strings.Split(inNS(getent, "-s", "ldap", "passwd", "alice"), ":")
	if len(passwd) != 7 || passwd[0] != "alice" || passwd[2] != "10001" || passwd[3] != "10001" ||
		passwd[4] != "Alice Liddell" || passwd[5] != "/home/alice" || passwd[6] != "/bin/bash" {
		t.Errorf("getent passwd alice: %q", strings.Join(passwd, ":"))
	}
	if passwd[1] != "*" && passwd[1] != "x" {
		t.Errorf("the password field leaks something: %q", passwd[1])
	}

	group := strings.Split(inNS(getent, "-s", "ldap", "group", "staff"), ":")
	if len(group) != 4 || group[0] != "staff" || group[2] != fmt.Sprint(staff.GIDNumber) {
		t.Fatalf("getent group staff: %q", strings.Join(group, ":"))
	}
	members := strings.Split(group[3], ",")
	slices.Sort(members)
	if !slices.Equal(members, []string{"alice", "bob"}) {
		t.Errorf("staff members: %v", members)
	}

	gids := strings.Fields(inNS(getent, "-s", "ldap", "initgroups", "alice"))
	for _, want := range []int{staff.GIDNumber, wheel.GIDNumber} {
		if !slices.Contains(gids, fmt.Sprint(want)) {
			t.Errorf("initgroups alice = %v lacks %d", gids, want)
		}
	}

	bob, err := f.dir.User(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if got := inNS(getent, "-s", "ldap", "group", fmt.Sprint(bob.GIDNumber)); got != fmt.Sprintf("bob:*:%d:bob", bob.GIDNumber) {
		t.Errorf("getent group %d (bob's primary group) = %q, want bob's private group", bob.GIDNumber, got)
	}
	if got := inNS(getent, "-s", "ldap", "group", "devs"); got != fmt.Sprintf("devs:*:%d:", devs.GIDNumber) || devs.GIDNumber == bob.GIDNumber {
		t.Errorf("getent group devs = %q (bob's gid %d)", got, bob.GIDNumber)
	}
	idBob := inNS("id", "bob")
	if !strings.Contains(idBob, fmt.Sprintf("gid=%d(bob)", bob.GIDNumber)) || strings.Contains(idBob, "devs") || !strings.Contains(idBob, "(staff)") {
		t.Errorf("id bob = %q, want his private group as primary, staff, and not devs", idBob)
	}

	id := inNS("id", "alice")
	for _, want := range []string{"uid=10001(alice)", fmt.Sprintf("%d(staff)", staff.GIDNumber), fmt.Sprintf("%d(wheelx)", wheel.GIDNumber)} {
		if !strings.Contains(id, want) {
			t.Errorf("id alice = %q lacks %s", id, want)
		}
	}
}
