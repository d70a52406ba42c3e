package ldif

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/internal/testenv"
)

const (
	slapaddPath = "/usr/sbin/slapadd"
	slapcatPath = "/usr/sbin/slapcat"
	schemaDir   = "/etc/ldap/schema" // Debian's
)

// needSlapd skips the test when OpenLDAP is not installed, except in CI.
func needSlapd(t *testing.T) {
	t.Helper()
	testenv.Tool(t, slapaddPath, "slapd")
}

// slapdConfig writes a slapd.conf for an mdb database of dc=example,dc=com
// in a temporary directory, with Debian's stock schemas and extra ones.
func slapdConfig(t *testing.T, extraSchemas ...string) string {
	t.Helper()
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	must(t, os.Mkdir(db, 0o700))
	var conf strings.Builder
	for _, s := range []string{"core", "cosine", "nis", "inetorgperson"} {
		fmt.Fprintf(&conf, "include %s/%s.schema\n", schemaDir, s)
	}
	for _, s := range extraSchemas {
		abs, err := filepath.Abs(s)
		must(t, err)
		fmt.Fprintf(&conf, "include %s\n", abs)
	}
	// Debian builds back_mdb as a module.
	if _, err := os.Stat("/usr/lib/ldap/back_mdb.la"); err == nil {
		conf.WriteString("modulepath /usr/lib/ldap\nmoduleload back_mdb\n")
	}
	fmt.Fprintf(&conf, "database mdb\nsuffix \"dc=example,dc=com\"\nrootdn \"cn=admin,dc=example,dc=com\"\ndirectory %s\n", db)
	path := filepath.Join(dir, "slapd.conf")
	must(t, os.WriteFile(path, []byte(conf.String()), 0o600))
	return path
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := runErr(name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func runErr(name string, args ...string) ([]byte, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.Bytes(), nil
}

func slapadd(t *testing.T, conf string, ldif []byte) error {
	t.Helper()
	path := filepath.Join(filepath.Dir(conf), "export.ldif")
	must(t, os.WriteFile(path, ldif, 0o600))
	_, err := runErr(slapaddPath, "-f", conf, "-l", path)
	return err
}

// TestSlapaddAcceptsExport loads exports into a real OpenLDAP database with
// slapadd (schema checks on), then reads the database back with slapcat and
// imports that into Atrium.
func TestSlapaddAcceptsExport(t *testing.T) {
	needSlapd(t)
	ctx := context.Background()
	d := richDir(t)

	t.Run("stock schemas, no SSH keys", func(t *testing.T) {
		must(t, slapadd(t, slapdConfig(t), export(t, d, ExportOptions{Secrets: true, OmitSSHKeys: true})))
	})

	// slapadd checks the schema, so the cases around mean something: it
	// refuses the keys without openssh-lpk, and a person without sn.
	t.Run("stock schemas refuse SSH keys", func(t *testing.T) {
		err := slapadd(t, slapdConfig(t), export(t, d, ExportOptions{}))
		if err == nil || !strings.Contains(err.Error(), "sshPublicKey") {
			t.Fatalf("slapadd took an unknown attribute: %v", err)
		}
	})
	t.Run("sn is required", func(t *testing.T) {
		out := export(t, d, ExportOptions{OmitSSHKeys: true})
		out = bytes.Replace(out, []byte("sn: svc.backup\n"), nil, 1)
		err := slapadd(t, slapdConfig(t), out)
		if err == nil || !strings.Contains(err.Error(), "requires attribute 'sn'") {
			t.Fatalf("slapadd took a person without sn: %v", err)
		}
	})

	t.Run("with openssh-lpk, and back through slapcat", func(t *testing.T) {
		conf := slapdConfig(t, "testdata/openssh-lpk.schema")
		must(t, slapadd(t, conf, export(t, d, ExportOptions{Secrets: true})))
		dump := run(t, slapcatPath, "-f", conf)

		d2 := newDir(t)
		if _, err := Import(ctx, d2, bytes.NewReader(dump), testLayout(t)); err != nil {
			t.Fatalf("import of slapcat's output: %v", err)
		}
		want, err := d.ListUsers(ctx)
		must(t, err)
		for i, u := range want {
			if pc := u.PasswordChanged; !pc.IsZero() {
				want[i].PasswordChanged = time.Unix(days(pc)*86400, 0).UTC()
			}
			// slapcat drops comments, so the placeholder sn becomes a
			// surname, and the derived displayName a display name.
			if want[i].DisplayName == "" {
				want[i].DisplayName = u.CommonName()
			}
			if u.Surname == "" {
				want[i].Surname = u.UID
			}
		}
		got, err := d2.ListUsers(ctx)
		must(t, err)
		compareUsers(t, got, want)
		wantGroups, err := d.ListGroups(ctx)
		must(t, err)
		gotGroups, err := d2.ListGroups(ctx)
		must(t, err)
		compareGroups(t, gotGroups, wantGroups)
	})
}
