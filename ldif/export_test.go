package ldif

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// richDir is the imported OpenLDAP export plus what only Atrium makes: a
// user without names, a disabled user, an argon2id password, values that
// need base64 and escaping, deeper nesting.
func richDir(t *testing.T) *directory.Directory {
	t.Helper()
	ctx := context.Background()
	d := newDir(t)
	importFile(t, d, "testdata/openldap-export.ldif")
	_, err := d.CreateUser(ctx, directory.User{UID: "svc.backup", SSHKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB5o backup@host"}})
	must(t, err)
	_, err = d.CreateUser(ctx, directory.User{UID: "gone_user", Mail: "gone@example.com", GivenName: " Leading", Surname: "Trailing ", DisplayName: "Dr. O'Brien, \"the\" <boss>", Disabled: true})
	must(t, err)
	must(t, d.SetPassword(ctx, "gone_user", "a long enough password"))
	must(t, d.SetPassword(ctx, "svc.backup", "another long password"))
	inner, err := d.CreateGroup(ctx, directory.Group{CN: "inner team", Description: ":starts with a colon"})
	must(t, err)
	svc, err := d.User(ctx, "svc.backup")
	must(t, err)
	_, err = d.UpdateGroup(ctx, "admins", func(g *directory.Group) error {
		g.Groups = append(g.Groups, inner.ID)
		g.Users = append(g.Users, svc.ID)
		return nil
	})
	must(t, err)
	return d
}

func export(t *testing.T, d *directory.Directory, opt ExportOptions) []byte {
	t.Helper()
	var buf bytes.Buffer
	must(t, Export(context.Background(), d, &buf, testLayout(t), opt))
	return buf.Bytes()
}

// TestExportRoundTrip: export, import into a fresh directory, and compare
// every user, group, membership and hash.
func TestExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	d1 := richDir(t)
	out := export(t, d1, ExportOptions{Secrets: true})

	d2 := newDir(t)
	rep, err := Import(ctx, d2, bytes.NewReader(out), testLayout(t))
	must(t, err)
	private1, err := d1.ListPrivateGroups(ctx)
	must(t, err)
	for _, s := range rep.Skipped {
		if !strings.Contains(s.Reason, "a container") && !strings.Contains(s.Reason, "the private group of user") {
			t.Errorf("re-import skipped %s", s)
		}
	}
	if len(rep.Skipped) != 3+len(private1) || len(rep.IgnoredAttributes) != 0 {
		t.Errorf("re-import skipped %d entries (want the base, 2 ou and %d private groups), ignored %v", len(rep.Skipped), len(private1), rep.IgnoredAttributes)
	}
	// Private groups are exported for OpenLDAP and come back derived.
	if len(private1) == 0 || !bytes.Contains(out, []byte("dn: cn="+private1[0].CN+",ou=groups,")) {
		t.Errorf("the export lacks the private groups %v", private1)
	}
	private2, err := d2.ListPrivateGroups(ctx)
	must(t, err)
	compareGroups(t, private2, private1)

	users1, err := d1.ListUsers(ctx)
	must(t, err)
	users2, err := d2.ListUsers(ctx)
	must(t, err)
	for i := range users1 {
		// shadowLastChange counts days.
		if pc := users1[i].PasswordChanged; !pc.IsZero() {
			users1[i].PasswordChanged = time.Unix(days(pc)*86400, 0).UTC()
		}
	}
	compareUsers(t, users2, users1)
	groups1, err := d1.ListGroups(ctx)
	must(t, err)
	groups2, err := d2.ListGroups(ctx)
	must(t, err)
	compareGroups(t, groups2, groups1)
	for _, u := range users1 {
		s1, err := d1.UserSecrets(ctx, u.ID)
		must(t, err)
		s2, err := d2.UserSecrets(ctx, u.ID)
		must(t, err)
		if s1.PasswordHash != s2.PasswordHash {
			t.Errorf("%s: hash %q came back as %q", u.UID, s1.PasswordHash, s2.PasswordHash)
		}
	}
	if _, err := d2.Authenticate(ctx, directory.Login{Name: "svc.backup", Password: "another long password", Remote: "192.0.2.1"}); err != nil {
		t.Errorf("argon2id hash does not verify after the round trip: %v", err)
	}

	// A second export of the copy is the same file.
	if again := export(t, d2, ExportOptions{Secrets: true}); !bytes.Equal(again, out) {
		t.Errorf("export of the re-imported directory differs:\n%s\n---\n%s", out, again)
	}
}

func TestExportOptions(t *testing.T) {
	d := richDir(t)
	plain := string(export(t, d, ExportOptions{OmitSSHKeys: true}))
	for _, forbidden := range []string{"userPassword", "sshPublicKey", "ldapPublicKey", "It holds password hashes"} {
		if strings.Contains(plain, forbidden) {
			t.Errorf("export without secrets and keys contains %s", forbidden)
		}
	}
	full := string(export(t, d, ExportOptions{Secrets: true}))
	for _, want := range []string{"userPassword: {ARGON2}", "sshPublicKey: ssh-ed25519", "objectClass: ldapPublicKey", "It holds password hashes"} {
		if !strings.Contains(full, want) {
			t.Errorf("full export lacks %s", want)
		}
	}
}

// TestExportGolden pins the format; run with -update after a deliberate
// change and read the diff.
func TestExportGolden(t *testing.T) {
	d := newDir(t)
	importFile(t, d, "testdata/openldap-export.ldif")
	got := export(t, d, ExportOptions{Secrets: true})
	const golden = "testdata/atrium-export.ldif"
	if *update {
		must(t, os.WriteFile(golden, got, 0o644))
	}
	want, err := os.ReadFile(golden)
	must(t, err)
	if !bytes.Equal(got, want) {
		t.Errorf("export differs from %s (run go test -update to accept):\n%s", golden, got)
	}
}

// TestExportAcrossChunks: users are decoded and written in chunks on
// several goroutines; with more users than fit in a few chunks, every
// user, stored group and private group is written once, in order, a
// group's members are named right wherever their chunk, the progress ends
// at the number of entries, and the file reads back to the same export.
func TestExportAcrossChunks(t *testing.T) {
	ctx := context.Background()
	d := newDir(t)
	n := 2*usersPerChunk + 77
	var members []string
	var uids []string
	must(t, d.BulkBatch(ctx, func(b *directory.Batch) error {
		staff, err := b.CreateGroup(directory.Group{CN: "staff"})
		if err != nil {
			return err
		}
		for i := range n {
			u := directory.User{UID: fmt.Sprintf("user%05d", (i*7919)%n), Mail: fmt.Sprintf("u%d@example.com", i)}
			if i%3 == 0 {
				u.GIDNumber = staff.GIDNumber // the others get a private group
			}
			if u, err = b.CreateUser(u); err != nil {
				return err
			}
			uids = append(uids, u.UID)
			if i%5 == 0 {
				members = append(members, u.ID)
			}
		}
		staff.Users = members
		return b.AddUsers(staff)
	}))
	var last [2]int
	out := export(t, d, ExportOptions{Progress: func(done, total int) { last = [2]int{done, total} }})

	slices.Sort(uids)
	var want []string
	for _, uid := range uids {
		want = append(want, "uid="+uid+",ou=people,dc=example,dc=com")
	}
	want = append(want, "cn=staff,ou=groups,dc=example,dc=com")
	private, err := d.ListPrivateGroups(ctx)
	must(t, err)
	has := map[string]bool{}
	for _, g := range private {
		has[g.CN] = true
	}
	for _, uid := range uids {
		if has[uid] {
			want = append(want, "cn="+uid+",ou=groups,dc=example,dc=com")
		}
	}
	var got []string
	for _, line := range strings.Split(string(out), "\n") {
		if dn, ok := strings.CutPrefix(line, "dn: "); ok && strings.Contains(dn, ",ou=") {
			got = append(got, dn)
		}
	}
	if len(private) != n-(n+2)/3 || len(got) != len(want) {
		t.Fatalf("%d entries, want %d (%d private groups)", len(got), len(want), len(private))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("entry %d is %s, want %s", i, got[i], want[i])
		}
	}
	if entries := len(want); last != [2]int{entries, entries} {
		t.Errorf("last progress %v, want %d of %d", last, entries, entries)
	}
	staff, err := d.Group(ctx, "staff")
	must(t, err)
	var memberLines []string
	for _, id := range staff.Users {
		u, err := d.UserByID(ctx, id)
		must(t, err)
		memberLines = append(memberLines, "member: uid="+u.UID+",ou=people,dc=example,dc=com")
	}
	if !bytes.Contains(out, []byte(strings.Join(memberLines, "\n")+"\nmemberUid: ")) {
		t.Error("the group's members are not named in its order")
	}

	d2 := newDir(t)
	_, err = Import(ctx, d2, bytes.NewReader(out), testLayout(t))
	must(t, err)
	if again := export(t, d2, ExportOptions{}); !bytes.Equal(again, out) {
		t.Error("export of the re-imported directory differs")
	}
}
