package ldif

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/atrium-dir/atrium/directory"
)

const privateGroupsLDIF = `dn: uid=alice,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: posixAccount
uid: alice
cn: Alice
sn: Smith
uidNumber: 5001
gidNumber: 5001
homeDirectory: /home/alice

dn: cn=alice,ou=groups,dc=example,dc=com
objectClass: posixGroup
cn: alice
gidNumber: 5001
memberUid: alice

dn: uid=bob,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: posixAccount
uid: bob
cn: Bob
sn: Jones
uidNumber: 5002
gidNumber: 100
homeDirectory: /home/bob

dn: uid=dora,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: posixAccount
uid: dora
cn: Dora
sn: Lee
uidNumber: 5003
gidNumber: 6000
homeDirectory: /home/dora

dn: cn=staff,ou=groups,dc=example,dc=com
objectClass: posixGroup
cn: staff
gidNumber: 6000
`

// TestImportPrivateGroups: a file that keeps a group per user (as OpenLDAP
// needs) imports those as the users' private groups; a gidNumber naming no
// group gives the private group; a user joins the group their gidNumber
// names; and a private group's entry for a user already in the directory is
// accepted again.
func TestImportPrivateGroups(t *testing.T) {
	ctx := context.Background()
	d := newDir(t)
	rep, err := Import(ctx, d, strings.NewReader(privateGroupsLDIF), testLayout(t))
	must(t, err)
	reasons := map[string]string{}
	for _, s := range rep.Skipped {
		reasons[s.DN] = s.Reason
	}
	if r := reasons["cn=alice,ou=groups,dc=example,dc=com"]; !strings.Contains(r, "private group of user alice") {
		t.Errorf("alice's group: %q", r)
	}
	if r := reasons["uid=bob,ou=people,dc=example,dc=com"]; !strings.Contains(r, "gidNumber 100 names no group") {
		t.Errorf("bob's gidNumber: %q", r)
	}
	if rep.Groups != 1 {
		t.Errorf("imported %d groups, want staff only", rep.Groups)
	}
	for uid, gid := range map[string]int{"alice": 5001, "bob": 5002, "dora": 6000} {
		if u, err := d.User(ctx, uid); err != nil || u.GIDNumber != gid {
			t.Errorf("%s: gidNumber %d, want %d (%v)", uid, u.GIDNumber, gid, err)
		}
	}
	if g, err := d.Group(ctx, "staff"); err != nil || len(g.Users) != 1 {
		t.Errorf("dora is not in staff, her primary group: %+v %v", g, err)
	}
	private, err := d.ListPrivateGroups(ctx)
	must(t, err)
	if len(private) != 2 || private[0].CN != "alice" || private[1].CN != "bob" {
		t.Errorf("private groups %+v", private)
	}

	again := "dn: cn=alice,ou=groups,dc=example,dc=com\nobjectClass: posixGroup\ncn: alice\ngidNumber: 5001\nmemberUid: alice\n"
	if rep, err := Import(ctx, d, strings.NewReader(again), testLayout(t)); err != nil || rep.Groups != 0 {
		t.Errorf("alice's private group again: %+v, %v", rep, err)
	}
	for name, file := range map[string]string{
		"a group numbered as a user":       "dn: cn=ops,ou=groups,dc=example,dc=com\nobjectClass: posixGroup\ncn: ops\ngidNumber: 5003\n",
		"a group named as a private group": "dn: cn=bob,ou=groups,dc=example,dc=com\nobjectClass: posixGroup\ncn: bob\ngidNumber: 7000\n",
	} {
		_, err := Import(ctx, d, strings.NewReader(file), testLayout(t))
		var ie *ImportError
		if !errors.As(err, &ie) || !errors.Is(err, directory.ErrAlreadyExists) {
			t.Errorf("%s: %v", name, err)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
