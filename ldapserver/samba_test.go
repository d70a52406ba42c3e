package ldapserver

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/internal/testenv"
	"github.com/atrium-dir/atrium/ldif"
)

// sambaServer is a real smbd, a standalone server (a NAS) whose passdb is
// Atrium, reached through ldapsam with the samba bind account.
type sambaServer struct {
	t    *testing.T
	conf string // its smb.conf
	port string // its SMB port on 127.0.0.1
	log  *testenv.Output
	// pid is the process whose mount namespace has nslcd's socket, and
	// nsenter the program that joins it.
	pid     int
	nsenter string
}

// startSamba configures a standalone Samba named netbiosName in workgroup
// EXAMPLE against the Atrium server at addr, stores the bind password with
// smbpasswd -w and starts smbd in the foreground. Every directory Samba
// writes is under the test's temporary directory.
func startSamba(t *testing.T, addr, netbiosName string) *sambaServer {
	s := &sambaServer{t: t}
	smbd := testenv.Tool(t, "/usr/sbin/smbd", "samba")
	smbpasswd := testenv.Tool(t, "smbpasswd", "samba-common-bin")
	nslcd := testenv.Tool(t, "/usr/sbin/nslcd", "nslcd")
	unshare := testenv.Tool(t, "unshare", "util-linux")
	s.nsenter = testenv.Tool(t, "nsenter", "util-linux")
	testenv.Tool(t, "pdbedit", "samba-common-bin")
	testenv.Tool(t, "smbclient", "smbclient")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "smbd serves files as the user who logs in and needs root")
	}
	dir := t.TempDir()
	// Users who log in reach the share through it.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"private", "lock", "state", "cache", "pid", "ncalrpc", "share"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.conf, s.port = filepath.Join(dir, "smb.conf"), strings.TrimPrefix(testenv.FreeAddr(t), "127.0.0.1:")
	conf := fmt.Sprintf(`[global]
netbios name = %s
workgroup = EXAMPLE
server role = standalone server
passdb backend = ldapsam:ldap://%s
ldap suffix = %s
ldap user suffix = ou=people
ldap group suffix = ou=groups
ldap admin dn = %s
ldap ssl = off
ldap passwd sync = no
ldapsam:trusted = yes
private dir = %[5]s/private
lock directory = %[5]s/lock
state directory = %[5]s/state
cache directory = %[5]s/cache
pid directory = %[5]s/pid
ncalrpc dir = %[5]s/ncalrpc
smb ports = %[6]s
interfaces = 127.0.0.1
bind interfaces only = yes
disable netbios = yes
load printers = no
printcap name = /dev/null
disable spoolss = yes
map to guest = never
log level = 1
usershare path =

[share]
path = %[5]s/share
read only = yes
`, netbiosName, addr, base, sambaDN, dir, s.port)
	if err := os.WriteFile(s.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(smbpasswd, "-c", s.conf, "-w", "samba-password").CombinedOutput(); err != nil {
		t.Fatalf("smbpasswd -w: %v\n%s", err, out)
	}
	// smbd resolves the users it serves through NSS, as a NAS does with
	// nslcd: both run in a mount namespace of their own (see TestNslcd)
	// with the test's nslcd.conf and nsswitch.conf.
	nslcdConf, nsswitch := filepath.Join(dir, "nslcd.conf"), filepath.Join(dir, "nsswitch.conf")
	write := func(path, text string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(nslcdConf, fmt.Sprintf("uri ldap://%s/\nbase %s\nbinddn %s\nbindpw reader-password\n", addr, base, readerDN))
	write(nsswitch, "passwd: files ldap\ngroup: files ldap\n")
	script := strings.Join([]string{
		"set -e",
		"mount -t tmpfs atrium-samba /run",
		"mkdir -m 0755 /run/nslcd",
		`mount --bind "$1" /etc/nslcd.conf`,
		`mount --bind "$2" /etc/nsswitch.conf`,
		`"$3" -d >/dev/null 2>&1 &`,
		"i=0; until [ -S /run/nslcd/socket ]; do i=$((i+1)); [ $i -lt 400 ]; sleep 0.05; done",
		`shift 3; exec "$@"`,
	}, "\n")
	// smbd signals its whole process group when it stops, nslcd with it;
	// startPrivate gives them a group of their own.
	d := startPrivate(t, "smbd and nslcd", unshare, script, nslcdConf, nsswitch, nslcd,
		smbd, "--foreground", "--no-process-group", "--debug-stdout", "-s", s.conf)
	s.pid, s.log = d.Pid, d.Log
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+s.port)
		if err == nil {
			c.Close()
			return s
		}
		d.gone(t)
		if time.Now().After(deadline) {
			t.Fatalf("smbd does not listen on %s\n%s", s.port, s.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// run runs a Samba tool in smbd's namespace with its smb.conf and returns
// its output
// and whether it succeeded.
func (s *sambaServer) run(program string, args ...string) (string, bool) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args = append([]string{fmt.Sprintf("--mount=/proc/%d/ns/mnt", s.pid), "--", program, "-s", s.conf}, args...)
	out, err := exec.CommandContext(ctx, s.nsenter, args...).CombinedOutput()
	if ctx.Err() != nil {
		s.t.Fatalf("%s %v: %v\n%s", program, args, ctx.Err(), out)
	}
	return strings.TrimSpace(string(out)), err == nil
}

// smbclient lists the share as user with password.
func (s *sambaServer) smbclient(user, pw string) (string, bool) {
	return s.run("smbclient", "-p", s.port, "//127.0.0.1/share", "-U", user+"%"+pw, "-c", "ls")
}

// sambaFixture is the test fixture served with Samba support for NAS boxes
// named DISKSTATION and NAS2, and SMB logins locked for ten minutes after
// three wrong passwords.
func sambaFixture(t *testing.T) (*fixture, string) {
	f := newFixture(t, Access{})
	layout, err := ldif.NewLayout(base)
	if err != nil {
		t.Fatal(err)
	}
	f.b = NewBackend(BackendConfig{Directory: f.dir, Layout: layout,
		Samba: &SambaDomain{Name: "EXAMPLE", SID: "S-1-5-21-1-2-3", NetBIOSNames: []string{"DISKSTATION", "NAS2"},
			Lockout: SambaLockout{Threshold: 3, Duration: 10 * time.Minute, Window: 10 * time.Minute}}})
	_, addr := startServer(t, f)
	return f, addr
}

// TestSambaNAS runs a real Samba file server named DISKSTATION in workgroup
// EXAMPLE with Atrium as its passdb: it finds its domain entry and starts,
// pdbedit lists Atrium's users, and alice logs in over SMB with her
// password while a wrong one, and disabled carol, are refused.
func TestSambaNAS(t *testing.T) {
	_, addr := sambaFixture(t)
	s := startSamba(t, addr, "DISKSTATION")

	out, ok := s.run("pdbedit", "-L")
	if !ok {
		t.Fatalf("pdbedit -L: %s", out)
	}
	for _, uid := range []string{"alice:10001:Alice Liddell", "bob:10002:Bob Builder", "carol:10003:carol"} {
		if !strings.Contains(out, uid) {
			t.Errorf("pdbedit -L lacks %s:\n%s", uid, out)
		}
	}
	if out, ok := s.smbclient("alice", "alice-password"); !ok {
		t.Errorf("alice cannot log in over SMB: %s", out)
	}
	if out, ok := s.smbclient("alice", "wrong-password"); ok || !strings.Contains(out, "NT_STATUS_LOGON_FAILURE") {
		t.Errorf("a wrong password is not refused: %s", out)
	}
	if out, ok := s.smbclient("carol", "carol-password"); ok || !strings.Contains(out, "NT_STATUS_ACCOUNT_DISABLED") {
		t.Errorf("disabled carol is not refused as disabled: %s", out)
	}
}

// TestSambaLockout: Samba applies the lockout policy Atrium publishes on
// the domain entry (three wrong passwords lock SMB logins for ten minutes)
// and reports the lock through the samba bind account. Atrium stores it,
// so a second NAS refuses alice too, and it shows in the audit log; once
// the lock has run out Samba lets alice in and clears it.
func TestSambaLockout(t *testing.T) {
	f, addr := sambaFixture(t)
	ctx := context.Background()
	nas := startSamba(t, addr, "DISKSTATION")
	for i := range 3 {
		if out, ok := nas.smbclient("alice", "wrong-password"); ok || !strings.Contains(out, "NT_STATUS_LOGON_FAILURE") {
			t.Fatalf("wrong password %d: %s", i+1, out)
		}
	}
	if out, _ := nas.smbclient("alice", "alice-password"); !strings.Contains(out, "NT_STATUS_ACCOUNT_LOCKED_OUT") {
		t.Errorf("alice is not locked out after three wrong passwords: %s", out)
	}
	u, err := f.dir.User(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if fl := u.SMBFailures; fl.Count != 3 || !fl.Locked || time.Since(fl.Last) > time.Minute {
		t.Fatalf("Atrium stored %+v", fl)
	}
	// A second NAS has seen no wrong password: it learns of the lock from
	// Atrium alone.
	nas2 := startSamba(t, addr, "NAS2")
	if out, _ := nas2.smbclient("alice", "alice-password"); !strings.Contains(out, "NT_STATUS_ACCOUNT_LOCKED_OUT") {
		t.Errorf("the second NAS lets alice in: %s", out)
	}
	if out, ok := nas2.smbclient("bob", "bob-password"); !ok {
		t.Errorf("bob is locked out with alice: %s", out)
	}
	expectAudit(t, f, directory.ResultLockedOut, "3 wrong SMB passwords in a row, reported by samba")

	// Ten minutes pass for the lock: it runs out, Samba lets alice in and
	// clears the count. Samba takes the entry over what it cached only
	// when its modifyTimestamp is later, to the second, than the lock.
	time.Sleep(time.Until(u.Modified.Truncate(time.Second).Add(time.Second)))
	if _, err := f.dir.ReportSMBFailures(ctx, "alice", directory.SMBFailures{Count: 3, Last: time.Now().Add(-11 * time.Minute), Locked: true}, "test", ""); err != nil {
		t.Fatal(err)
	}
	if out, ok := nas.smbclient("alice", "alice-password"); !ok {
		t.Errorf("alice is still locked out after the lockout duration: %s", out)
	}
	if u, _ := f.dir.User(ctx, "alice"); u.SMBFailures.Locked || u.SMBFailures.Count != 0 {
		t.Errorf("the lock is not cleared: %+v", u.SMBFailures)
	}
	expectAudit(t, f, directory.ResultUnlocked, "0 wrong SMB passwords in a row, reported by samba")
}

// expectAudit fails unless alice's audit log has an SMB event with result
// and detail.
func expectAudit(t *testing.T, f *fixture, result, detail string) {
	t.Helper()
	events, err := f.dir.AuditEvents(context.Background(), directory.AuditQuery{Subject: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if e.Service == "smb" && e.Result == result && e.Detail == detail && e.Remote != "" {
			return
		}
	}
	t.Errorf("no %s event in alice's audit log: %+v", result, events)
}

// TestSambaReportWrites: a samba bind account writes a user's
// wrong-password count, time and lock the way Samba does, and nothing
// else; the lock shows in sambaAcctFlags, and the domain entries publish
// the lockout policy.
func TestSambaReportWrites(t *testing.T) {
	f, addr := sambaFixture(t)
	samba := connect(t, addr, sambaDN, "samba-password")
	lock := func(flags, count string) *ldap.ModifyRequest {
		m := ldap.NewModifyRequest(aliceDN, nil)
		m.Delete("sambaAcctFlags", []string{"[U          ]"})
		m.Add("sambaAcctFlags", []string{flags})
		m.Add("sambaBadPasswordCount", []string{count})
		m.Add("sambaBadPasswordTime", []string{"1796418668"})
		return m
	}
	for _, c := range []struct {
		name string
		as   *client
		m    *ldap.ModifyRequest
		code uint16
	}{
		{"a read account", connect(t, addr, readerDN, "reader-password"), lock("[UL         ]", "3"), ldap.LDAPResultInsufficientAccessRights},
		{"a user", connect(t, addr, aliceDN, "alice-password"), lock("[UL         ]", "3"), ldap.LDAPResultInsufficientAccessRights},
		{"another flag", samba, lock("[UDL        ]", "3"), ldap.LDAPResultInsufficientAccessRights},
		{"a bad count", samba, lock("[UL         ]", "many"), ldap.LDAPResultInvalidAttributeSyntax},
		{"a stale flags value", samba, func() *ldap.ModifyRequest {
			m := ldap.NewModifyRequest(aliceDN, nil)
			m.Delete("sambaAcctFlags", []string{"[UL         ]"})
			m.Add("sambaAcctFlags", []string{"[U          ]"})
			return m
		}(), ldap.LDAPResultNoSuchAttribute},
		{"another attribute", samba, func() *ldap.ModifyRequest {
			m := lock("[UL         ]", "3")
			m.Replace("mail", []string{"mallory@example.com"})
			return m
		}(), ldap.LDAPResultInsufficientAccessRights},
	} {
		if code := resultCode(c.as.Modify(c.m)); code != c.code {
			t.Errorf("%s: result %d, want %d", c.name, code, c.code)
		}
	}
	if u, _ := f.dir.User(context.Background(), "alice"); u.SMBFailures != (directory.SMBFailures{}) || u.Mail != "alice@example.com" {
		t.Fatalf("a refused write changed alice: %+v %s", u.SMBFailures, u.Mail)
	}

	if err := samba.Modify(lock("[UL         ]", "3")); err != nil {
		t.Fatal(err)
	}
	e := samba.find(aliceDN, ldap.ScopeBaseObject, "(objectClass=*)", "sambaAcctFlags", "sambaBadPasswordCount", "sambaBadPasswordTime")[0]
	if e.GetAttributeValue("sambaAcctFlags") != "[UL         ]" || e.GetAttributeValue("sambaBadPasswordCount") != "3" || e.GetAttributeValue("sambaBadPasswordTime") != "1796418668" {
		t.Errorf("after the lock: %+v", e.Attributes)
	}
	expectAudit(t, f, directory.ResultLockedOut, "3 wrong SMB passwords in a row, reported by samba")

	for _, name := range []string{"EXAMPLE", "DISKSTATION", "NAS2"} {
		d := samba.find("sambaDomainName="+name+","+base, ldap.ScopeBaseObject, "(objectClass=sambaDomain)", "*")
		if len(d) != 1 || d[0].GetAttributeValue("sambaSID") != "S-1-5-21-1-2-3" || d[0].GetAttributeValue("sambaLockoutThreshold") != "3" ||
			d[0].GetAttributeValue("sambaLockoutDuration") != "10" || d[0].GetAttributeValue("sambaLockoutObservationWindow") != "10" {
			t.Errorf("domain entry %s: %+v", name, d)
		}
	}
}
