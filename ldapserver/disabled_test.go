package ldapserver

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/internal/testenv"
)

// TestSSSDDisabledUser points a real SSSD at Atrium, set up as its guide in
// docs/clients says, with the account check a Linux host uses to refuse expired accounts (ldap_access_order =
// expire, ldap_account_expire_policy = shadow) and asks PAM, through
// pam_sss and pamtester, whether alice and carol may log in. A disabled
// user must be refused even though nothing binds with a password (an SSH
// key login runs only this check), and accepted again once enabled.
//
// SSSD's sockets, cache and PAM's service files live at fixed paths, so,
// as in TestNslcd, sssd runs in its own mount namespace with fresh tmpfs on
// /run, /var/lib/sss and /var/log/sssd and the test's directories bound
// over /etc/sssd and /etc/pam.d; pamtester joins it with nsenter.
func TestSSSDDisabledUser(t *testing.T) {
	sssd := testenv.Tool(t, "/usr/sbin/sssd", "sssd-ldap")
	if _, err := os.Stat("/usr/libexec/sssd/sssd_be"); err != nil {
		testenv.Missing(t, "sssd's back end is not installed (apt-get install sssd-ldap)")
	}
	pamtester := testenv.Tool(t, "pamtester", "pamtester")
	pamSSS := "/lib/x86_64-linux-gnu/security/pam_sss.so"
	if _, err := os.Stat(pamSSS); err != nil {
		pamSSS = "/usr" + pamSSS
		if _, err := os.Stat(pamSSS); err != nil {
			testenv.Missing(t, "pam_sss.so is not installed (apt-get install libpam-sss)")
		}
	}
	unshare := testenv.Tool(t, "unshare", "util-linux")
	nsenter := testenv.Tool(t, "nsenter", "util-linux")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the sssd test mounts in a private mount namespace and needs root")
	}

	f := newFixture(t, Access{})
	ctx := context.Background()
	guide, cert := guideServer(t, f, "sssd")

	etc, pamd := t.TempDir(), t.TempDir()
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The guide's sssd.conf, over StartTLS with Atrium's certificate at
	// the path it names (etc is bound over /etc/sssd). pam_id_timeout = 0:
	// every PAM request reads the entry afresh, so a change shows at the
	// next check rather than after SSSD's 5 seconds.
	write(filepath.Join(etc, "atrium.crt"), string(cert))
	write(filepath.Join(etc, "sssd.conf"), configFile(t, guide, "sssd.conf", map[string]string{"ldap_default_authtok": guideBindPassword})+
		"\n[pam]\npam_id_timeout = 0\n")
	if err := os.Mkdir(filepath.Join(etc, "conf.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(pamd, "atrium"), "auth required pam_sss.so\naccount required pam_sss.so\n")

	script := strings.Join([]string{
		"set -e",
		"for d in /run /var/lib/sss /var/log/sssd; do mount -t tmpfs atrium-sssd $d; done",
		"mkdir -p /var/lib/sss/db /var/lib/sss/pipes/private /var/lib/sss/mc /var/lib/sss/pubconf/krb5.include.d /var/lib/sss/gpo_cache",
		`mount --bind "$1" /etc/sssd`,
		`mount --bind "$2" /etc/pam.d`,
		`exec "$3" -i --logger=stderr -d 2`,
	}, "\n")
	d := startPrivate(t, "sssd", unshare, script, etc, pamd, sssd)
	d.waitFor(t, fmt.Sprintf("/proc/%d/root/var/lib/sss/pipes/pam", d.Pid))

	// account runs pam_sss's account check, the one sshd runs for a key
	// login; it returns pamtester's output and whether PAM accepted.
	account := func(uid string) (string, bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, nsenter, fmt.Sprintf("--mount=/proc/%d/ns/mnt", d.Pid), "--",
			pamtester, "atrium", uid, "acct_mgmt").CombinedOutput()
		if ctx.Err() != nil {
			t.Fatalf("pamtester %s: %v\n%s", uid, ctx.Err(), out)
		}
		return strings.TrimSpace(string(out)), err == nil
	}
	expect := func(uid string, usable bool) {
		t.Helper()
		out, ok := account(uid)
		switch {
		case usable && !ok:
			t.Errorf("%s should pass the account check: %s", uid, out)
		case !usable && ok:
			t.Errorf("%s is disabled but passes the account check: %s", uid, out)
		case !usable && !strings.Contains(out, "expired"):
			t.Errorf("%s is refused for another reason than expiry: %s", uid, out)
		}
	}

	expect("alice", true)
	expect("carol", false) // disabled in the fixture
	if _, err := f.dir.SetDisabled(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.dir.SetDisabled(ctx, "carol", false); err != nil {
		t.Fatal(err)
	}
	expect("alice", false)
	expect("carol", true)
}

// TestDisabledUserAttributes: a disabled user, and only that user, carries
// shadowExpire 1 and ppolicy's permanent lock, which clients filter on.
func TestDisabledUserAttributes(t *testing.T) {
	f := newFixture(t, Access{})
	_, addr := startServer(t, f)
	c := connect(t, addr, readerDN, "reader-password")
	for _, filter := range []string{"(shadowExpire=1)", "(shadowExpire<=20000)", "(pwdAccountLockedTime=*)"} {
		e := c.find("ou=people,"+base, ldap.ScopeWholeSubtree, filter, "shadowExpire", "+")
		if len(e) != 1 {
			t.Fatalf("%s found %d entries, want carol alone", filter, len(e))
		}
		if e[0].DN != "uid=carol,ou=people,"+base || e[0].GetAttributeValue("shadowExpire") != "1" ||
			e[0].GetAttributeValue("pwdAccountLockedTime") != "000001010000Z" {
			t.Errorf("%s: %s shadowExpire=%q pwdAccountLockedTime=%q", filter, e[0].DN,
				e[0].GetAttributeValue("shadowExpire"), e[0].GetAttributeValue("pwdAccountLockedTime"))
		}
	}
	if e := c.find(aliceDN, ldap.ScopeBaseObject, "(objectClass=*)", "*", "+"); e[0].GetAttributeValue("shadowExpire") != "" || e[0].GetAttributeValue("pwdAccountLockedTime") != "" {
		t.Errorf("an enabled user looks disabled: %+v", e[0].Attributes)
	}
}

// TestNslcdShadowExpire: a Linux host with nslcd and shadow: ldap in
// nsswitch.conf sees a disabled user's account as expired in pam_unix's
// account check, the one sshd runs for a key login, and usable again once
// enabled. nslcd, its files and PAM's service files are set up in a mount
// namespace as in TestNslcd.
func TestNslcdShadowExpire(t *testing.T) {
	nslcd := testenv.Tool(t, "/usr/sbin/nslcd", "nslcd")
	pamtester := testenv.Tool(t, "pamtester", "pamtester")
	unshare := testenv.Tool(t, "unshare", "util-linux")
	nsenter := testenv.Tool(t, "nsenter", "util-linux")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the nslcd test mounts in a private mount namespace and needs root")
	}
	f := newFixture(t, Access{})
	ctx := context.Background()
	guide, cert := guideServer(t, f, "nslcd")

	dir, pamd := t.TempDir(), t.TempDir()
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	conf, nsswitch := filepath.Join(dir, "nslcd.conf"), filepath.Join(dir, "nsswitch.conf")
	certFile := filepath.Join(dir, "atrium.crt")
	write(certFile, string(cert))
	write(conf, configFile(t, guide, "nslcd.conf", map[string]string{"bindpw": guideBindPassword, "tls_cacertfile": certFile}))
	write(nsswitch, configFile(t, guide, "nsswitch.conf", nil))
	write(filepath.Join(pamd, "atrium"), "account required pam_unix.so\n")
	script := strings.Join([]string{
		"set -e",
		"mount -t tmpfs atrium-nslcd /run",
		"mkdir -m 0755 /run/nslcd",
		`mount --bind "$1" /etc/nslcd.conf`,
		`mount --bind "$2" /etc/nsswitch.conf`,
		`mount --bind "$3" /etc/pam.d`,
		`exec "$4" -d`,
	}, "\n")
	d := startPrivate(t, "nslcd", unshare, script, conf, nsswitch, pamd, nslcd)
	d.waitFor(t, fmt.Sprintf("/proc/%d/root/run/nslcd/socket", d.Pid))

	account := func(uid string) (string, bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, nsenter, fmt.Sprintf("--mount=/proc/%d/ns/mnt", d.Pid), "--",
			pamtester, "atrium", uid, "acct_mgmt").CombinedOutput()
		return strings.TrimSpace(string(out)), err == nil
	}
	expect := func(uid string, usable bool) {
		t.Helper()
		out, ok := account(uid)
		switch {
		case usable && !ok:
			t.Errorf("%s should pass the account check: %s", uid, out)
		case !usable && (ok || !strings.Contains(out, "expired")):
			t.Errorf("%s is disabled but not refused as expired: %s", uid, out)
		}
	}
	expect("alice", true)
	expect("carol", false)
	if _, err := f.dir.SetDisabled(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.dir.SetDisabled(ctx, "carol", false); err != nil {
		t.Fatal(err)
	}
	expect("alice", false)
	expect("carol", true)
}
