package ldif

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

const (
	aliceKey1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOCe9NQcg6I0knyiHY9HmSrj9qfpmeXOU7g65PkkENIF alice@laptop"
	aliceKey2 = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCWJ4OTYlT15spL3CBeaKGdlK3AtoLUxVskR7rMve/VA8AjwDo+2bgkZYlCSun81jwK54b1jD4u5H1IQn9SIR+P6ktHTeIl1cxxaS58LVJATMOTOSydR0uy+DAOotMDp2uH9MX1MCx5ye2gm1/gQKjNawVjgji3j+mRr7p/7/9NC05ejRFnwyigmeS0tiNbwbglIIXKer+9YL5zbcrgpIHO3N9HyV3k099Alu2lGjlMPiD2DZiMU4268/qg1kqbuAk14Va5XrAUSTuQwLzuHUMM8X0bZK3wQ1wc5WVzUewPYqhtEh4NEnyYeJ89w4+zqamFfsHvkm9FXFquNdOK/7OX alice@desktop"

	aliceID  = "1ccd1dd0-7b2a-1041-9bcf-77f0557aee7e"
	bobID    = "1ccd6b6e-7b2a-1041-9bd0-77f0557aee7e"
	zoeID    = "1ccd80b8-7b2a-1041-9bd1-77f0557aee7e"
	carolID  = "1ccd88ba-7b2a-1041-9bd2-77f0557aee7e"
	daveID   = "1ccd9512-7b2a-1041-9bd3-77f0557aee7e"
	eveID    = "1ccda6ce-7b2a-1041-9bd4-77f0557aee7e"
	adminsID = "1ccddd1a-7b2a-1041-9bd8-77f0557aee7e"
)

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

func importFile(t *testing.T, d *directory.Directory, path string) Report {
	t.Helper()
	f, err := os.Open(path)
	must(t, err)
	defer f.Close()
	rep, err := Import(context.Background(), d, f, testLayout(t))
	must(t, err)
	return rep
}

// TestImportOpenLDAP imports a slapcat export and checks every field.
func TestImportOpenLDAP(t *testing.T) {
	ctx := context.Background()
	d := newDir(t)
	rep := importFile(t, d, "testdata/openldap-export.ldif")

	if rep.Users != 6 || rep.Groups != 6 || rep.Passwords != 4 {
		t.Errorf("report counts users %d, groups %d, passwords %d; want 6, 6, 4", rep.Users, rep.Groups, rep.Passwords)
	}
	wantSkips := []string{
		"dc=example,dc=com: a container",
		"ou=people,dc=example,dc=com: a container",
		"ou=groups,dc=example,dc=com: a container",
		"ou=contractors,dc=example,dc=com: a container",
		"ou=devices,dc=example,dc=com: a container",
		"cn=admin,dc=example,dc=com: a service account",
		"cn=Frank Contact,ou=people,dc=example,dc=com: a person without uid",
		"cn=printer1,ou=devices,dc=example,dc=com: object class device is not imported",
		"uid=bob,ou=people,dc=example,dc=com: mail bob.jones@example.com not kept",
		"uid=dave,ou=people,dc=example,dc=com: userPassword in cleartext",
		"uid=eve,ou=people,dc=example,dc=com: userPassword scheme {MD5} is not supported",
		"cn=users,ou=groups,dc=example,dc=com: memberUid nobody dropped",
		"cn=staff,ou=groups,dc=example,dc=com: member uid=ghost,ou=people,dc=example,dc=com dropped",
		"cn=staff,ou=groups,dc=example,dc=com: member cn=printer1,ou=devices,dc=example,dc=com dropped: that entry is not imported",
		"cn=empty,ou=groups,dc=example,dc=com: the group names itself as a member",
	}
	var got []string
	for _, s := range rep.Skipped {
		got = append(got, s.String())
	}
	for _, want := range wantSkips {
		if !slices.ContainsFunc(got, func(g string) bool { return strings.HasPrefix(g, want) }) {
			t.Errorf("report does not skip %q", want)
		}
	}
	if len(got) != len(wantSkips) {
		t.Errorf("report skips %d things, want %d:\n%s", len(got), len(wantSkips), strings.Join(got, "\n"))
	}
	if !reflect.DeepEqual(rep.IgnoredAttributes, []string{"telephoneNumber"}) {
		t.Errorf("ignored attributes %v, want [telephoneNumber] (gecos and operational attributes are derived)", rep.IgnoredAttributes)
	}

	wantUsers := []directory.User{
		{ID: aliceID, UID: "alice", Mail: "alice@example.com", GivenName: "Alice", Surname: "Smith",
			UIDNumber: 2001, GIDNumber: 2000, HomeDirectory: "/home/alice", LoginShell: "/bin/bash",
			SSHKeys: []string{aliceKey1, aliceKey2}, Created: utc("2019-03-07 09:30:16"), Modified: utc("2024-01-08 14:15:26"),
			PasswordChanged: utc("2023-12-09 00:00:00")}, // shadowLastChange 19700
		{ID: bobID, UID: "bob", Mail: "bob@example.com", GivenName: "Robert", Surname: "Jones", DisplayName: "Bob Jones",
			UIDNumber: 2002, GIDNumber: 2000, HomeDirectory: "/home/bob", LoginShell: "/bin/zsh",
			Created: utc("2019-03-08 09:30:17"), Modified: utc("2024-01-09 14:15:27")},
		// carol is an account (no inetOrgPerson) outside ou=people, expired in 2019.
		{ID: carolID, UID: "carol", UIDNumber: 2004, GIDNumber: 2000, HomeDirectory: "/home/carol", LoginShell: "/bin/sh",
			Disabled: true, Created: utc("2019-03-10 09:30:19"), Modified: utc("2024-01-11 14:15:29")},
		// dave is an inetOrgPerson only: numbers allocated, defaults filled in;
		// his cn is not what Atrium would derive, so it is his display name.
		// Users and groups share one range: the three groups without a
		// number took the first three.
		{ID: daveID, UID: "dave", Mail: "dave@example.com", Surname: "Brown", DisplayName: "Dave Brown",
			UIDNumber: directory.FirstID + 3, GIDNumber: directory.FirstID + 3, HomeDirectory: "/home/dave", LoginShell: "/bin/bash",
			Created: utc("2019-04-11 09:30:20"), Modified: utc("2024-02-12 14:15:30")},
		{ID: eveID, UID: "eve", GivenName: "Eve", Surname: "Adams",
			UIDNumber: 2006, GIDNumber: 2000, HomeDirectory: "/home/eve", LoginShell: "/bin/bash",
			Created: utc("2019-04-12 09:30:21"), Modified: utc("2024-02-13 14:15:31")},
		// zoe's names were base64 in the file.
		{ID: zoeID, UID: "zoe", Mail: "zoe@example.com", GivenName: "Zoë", Surname: "Müller",
			UIDNumber: 2003, GIDNumber: 2000, HomeDirectory: "/home/zoe", LoginShell: "/bin/bash",
			Created: utc("2019-03-09 09:30:18"), Modified: utc("2024-01-10 14:15:28")},
	}
	users, err := d.ListUsers(ctx)
	must(t, err)
	compareUsers(t, users, wantUsers)

	wantGroups := []directory.Group{
		{ID: adminsID, CN: "admins", GIDNumber: 2010, Users: []string{aliceID},
			Created: utc("2019-04-16 09:30:25"), Modified: utc("2024-02-17 14:15:35")},
		// groupOfUniqueNames; alice's DN differs in case and spacing, zoe's has a UID suffix.
		{ID: "1ccdf64c-7b2a-1041-9bda-77f0557aee7e", CN: "developers", GIDNumber: directory.FirstID + 1,
			Users: []string{aliceID, zoeID}, Created: utc("2019-04-18 09:30:27"), Modified: utc("2024-02-19 14:15:37")},
		{ID: "1cce19d8-7b2a-1041-9bdb-77f0557aee7e", CN: "empty", GIDNumber: directory.FirstID + 2,
			Created: utc("2019-04-19 09:30:28"), Modified: utc("2024-02-20 14:15:38")},
		// groupOfNames: carol is found outside ou=people, admins is nested.
		{ID: "1ccde97c-7b2a-1041-9bd9-77f0557aee7e", CN: "staff", Description: "All staff", GIDNumber: directory.FirstID,
			Users: []string{aliceID, bobID, carolID}, Groups: []string{adminsID},
			Created: utc("2019-04-17 09:30:26"), Modified: utc("2024-02-18 14:15:36")},
		// posixGroup with memberUid; alice and eve, not listed, are in it as
		// their primary group.
		{ID: "1ccdcf32-7b2a-1041-9bd7-77f0557aee7e", CN: "users", Description: "Everyone with a login", GIDNumber: 2000,
			Users: []string{bobID, zoeID, carolID, aliceID, eveID}, Created: utc("2019-04-15 09:30:24"), Modified: utc("2024-02-16 14:15:34")},
		// groupOfNames and posixGroup at once: member and memberUid merge.
		{ID: "4f1c2f0e-8a1b-1040-8c3d-5b1e9e2a7c11", CN: "wheel", Description: "Sudoers (written by a server with the rfc2307bis schema)",
			GIDNumber: 10, Users: []string{aliceID, zoeID}, Groups: []string{adminsID},
			Created: utc("2020-01-15 08:30:00"), Modified: utc("2025-06-01 12:00:00")},
	}
	groups, err := d.ListGroups(ctx)
	must(t, err)
	compareGroups(t, groups, wantGroups)

	eff, err := d.EffectiveGroups(ctx, "alice")
	must(t, err)
	var names []string
	for _, g := range eff {
		names = append(names, g.CN)
	}
	slices.Sort(names)
	if !reflect.DeepEqual(names, []string{"admins", "developers", "staff", "users", "wheel"}) {
		t.Errorf("alice's effective groups %v", names)
	}

	for uid, pw := range map[string]string{"alice": "alice-pw-1", "bob": "bob-pw-2", "zoe": "zoe-pw-3"} {
		if _, err := d.Authenticate(ctx, directory.Login{Name: uid, Password: pw, Remote: "192.0.2.1", Service: "test"}); err != nil {
			t.Errorf("%s cannot log in with the imported hash: %v", uid, err)
		}
	}
	s, err := d.UserSecrets(ctx, carolID)
	must(t, err)
	if s.PasswordHash != "{CRYPT}$5$saltsalt$myjXcpMpE2Ofk7fj9hqyNYSn6lmWG4Mqnjx.KIRRr4/" {
		t.Errorf("carol's hash %q not kept as it was", s.PasswordHash)
	}
	if _, err := d.Authenticate(ctx, directory.Login{Name: "carol", Password: "correct horse", Remote: "192.0.2.1"}); !errors.Is(err, directory.ErrBadCredentials) {
		t.Errorf("carol expired in 2019 but logs in: %v", err)
	}
	for _, id := range []string{daveID, eveID} {
		s, err := d.UserSecrets(ctx, id)
		must(t, err)
		if s.PasswordHash != "" {
			t.Errorf("user %s got a password from a cleartext or unsupported value", id)
		}
	}
}

func compareUsers(t *testing.T, got, want []directory.User) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d users, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if len(g.SSHKeys) == 0 && len(w.SSHKeys) == 0 {
			g.SSHKeys, w.SSHKeys = nil, nil
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("user %s:\n got %+v\nwant %+v", w.UID, g, w)
		}
	}
}

func compareGroups(t *testing.T, got, want []directory.Group) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d groups, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		for _, l := range []*[]string{&g.Users, &g.Groups, &w.Users, &w.Groups} {
			if len(*l) == 0 {
				*l = nil
			}
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("group %s:\n got %+v\nwant %+v", w.CN, g, w)
		}
	}
}

// snapshot is everything Import may change, to check that a refused
// import changed nothing.
func snapshot(t *testing.T, d *directory.Directory) string {
	t.Helper()
	var buf bytes.Buffer
	must(t, Export(context.Background(), d, &buf, testLayout(t), ExportOptions{Secrets: true}))
	return buf.String()
}

// TestImportAllOrNothing: a problem in the last entry leaves the directory
// as it was.
func TestImportAllOrNothing(t *testing.T) {
	good := `dn: uid=ann,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
objectClass: posixAccount
uid: ann
cn: Ann
sn: Lee
mail: ann@example.com
uidNumber: 3001
gidNumber: 3000
homeDirectory: /home/ann
userPassword: {SSHA}NSZEu/ZzEMKdBO5ESNEYml3qKRYBAgMEBQYHCA==

dn: uid=ben,ou=people,dc=example,dc=com
objectClass: inetOrgPerson
uid: ben
cn: Ben
sn: Ode

dn: cn=team,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: team
member: uid=ann,ou=people,dc=example,dc=com
member: uid=ben,ou=people,dc=example,dc=com

dn: cn=inner,ou=groups,dc=example,dc=com
objectClass: groupOfNames
cn: inner
member: uid=ann,ou=people,dc=example,dc=com

`
	cases := []struct {
		name, last string
		want       error // nil: any error will do
	}{
		{"uid taken in the directory", "dn: uid=mallory,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: mallory\ncn: M\nsn: M\n", directory.ErrAlreadyExists},
		{"uid taken in any case", "dn: uid=MALLORY,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: MALLORY\ncn: M\nsn: M\n", directory.ErrAlreadyExists},
		{"mail taken in the directory", "dn: uid=x,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: x\ncn: X\nsn: X\nmail: mallory@example.com\n", directory.ErrAlreadyExists},
		{"uidNumber taken in the directory", "dn: uid=x,ou=people,dc=example,dc=com\nobjectClass: posixAccount\nobjectClass: account\nuid: x\ncn: X\nuidNumber: 5000\ngidNumber: 1\nhomeDirectory: /x\n", directory.ErrAlreadyExists},
		{"group taken in the directory", "dn: cn=ops,ou=groups,dc=example,dc=com\nobjectClass: posixGroup\ncn: ops\ngidNumber: 7\n", directory.ErrAlreadyExists},
		{"entryUUID taken in the directory", "dn: uid=x,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: x\ncn: X\nsn: X\nentryUUID: 00000000-0000-4000-8000-000000000001\n", directory.ErrAlreadyExists},
		{"uid twice in the file", "dn: uid=ann,ou=contractors,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: ann\ncn: A\nsn: A\n", nil},
		{"mail twice in the file", "dn: uid=x,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: x\ncn: X\nsn: X\nmail: ANN@example.com\n", nil},
		{"DN twice in the file", "dn: uid=ben,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: ben\ncn: B\nsn: B\n", nil},
		{"invalid uid", "dn: uid=a b,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: a b\ncn: X\nsn: X\n", nil},
		{"bad number", "dn: uid=x,ou=people,dc=example,dc=com\nobjectClass: posixAccount\nobjectClass: account\nuid: x\ncn: X\nuidNumber: many\ngidNumber: 1\nhomeDirectory: /x\n", nil},
		{"bad entryUUID", "dn: uid=x,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: x\ncn: X\nsn: X\nentryUUID: nope\n", nil},
		{"bad timestamp", "dn: uid=x,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: x\ncn: X\nsn: X\ncreateTimestamp: yesterday\n", nil},
		{"mail Atrium refuses (found while creating)", "dn: uid=x,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: x\ncn: X\nsn: X\nmail: not an address\n", directory.ErrInvalid},
		{"cycle of groups", "dn: cn=x,ou=groups,dc=example,dc=com\nobjectClass: groupOfNames\ncn: x\nmember: cn=team,ou=groups,dc=example,dc=com\n\ndn: cn=team,ou=groups,dc=example,dc=com\nobjectClass: groupOfNames\ncn: team\nmember: cn=x,ou=groups,dc=example,dc=com\n", nil},
		{"change record", "dn: uid=ann,ou=people,dc=example,dc=com\nchangetype: delete\n", nil},
		{"syntax error", "dn: uid=x,ou=people,dc=example,dc=com\nthis is not LDIF\n", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			d := newDir(t)
			_, err := d.CreateUser(ctx, directory.User{ID: "00000000-0000-4000-8000-000000000001", UID: "mallory", Mail: "mallory@example.com", UIDNumber: 5000})
			must(t, err)
			_, err = d.CreateGroup(ctx, directory.Group{CN: "ops", Users: []string{"00000000-0000-4000-8000-000000000001"}})
			must(t, err)
			before := snapshot(t, d)

			_, err = Import(ctx, d, strings.NewReader(good+c.last), testLayout(t))
			if err == nil {
				t.Fatal("import succeeded")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %v, want %v", err, c.want)
			}
			if after := snapshot(t, d); after != before {
				t.Errorf("a refused import changed the directory:\nbefore:\n%s\nafter:\n%s", before, after)
			}
			t.Log(err)
		})
	}
}

// TestImportReportsAllProblems: an admin fixes a file in one go.
func TestImportReportsAllProblems(t *testing.T) {
	in := "dn: uid=a b,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: a b\ncn: X\nsn: X\n\n" +
		"dn: uid=x,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: x\ncn: X\nsn: X\nentryUUID: nope\n\n" +
		"dn: uid=y,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: X\ncn: X\nsn: X\n"
	_, err := Import(context.Background(), newDir(t), strings.NewReader(in), testLayout(t))
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Problems) != 3 {
		t.Fatalf("want an ImportError with 3 problems, got %v", err)
	}
}

// TestImportIntoExisting: members may be users and groups the directory
// already holds.
func TestImportIntoExisting(t *testing.T) {
	ctx := context.Background()
	d := newDir(t)
	u, err := d.CreateUser(ctx, directory.User{UID: "old", Mail: "old@example.com"})
	must(t, err)
	g, err := d.CreateGroup(ctx, directory.Group{CN: "oldies"})
	must(t, err)
	in := "dn: cn=new,ou=groups,dc=example,dc=com\nobjectClass: groupOfNames\nobjectClass: posixGroup\ncn: new\ngidNumber: 42\n" +
		"member: uid=OLD,ou=people,dc=example,dc=com\nmember: cn=oldies,ou=groups,dc=example,dc=com\nmemberUid: old\n"
	rep, err := Import(ctx, d, strings.NewReader(in), testLayout(t))
	must(t, err)
	if rep.Groups != 1 || len(rep.Skipped) != 0 {
		t.Errorf("report %+v", rep)
	}
	got, err := d.Group(ctx, "new")
	must(t, err)
	if !reflect.DeepEqual(got.Users, []string{u.ID}) || !reflect.DeepEqual(got.Groups, []string{g.ID}) {
		t.Errorf("members %v %v", got.Users, got.Groups)
	}
}

// A hash in a supported scheme that does not parse refuses the import,
// naming the line of its entry: stored, it would lock its user out.
func TestImportRefusesMalformedHash(t *testing.T) {
	in := "dn: uid=ok,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: ok\ncn: Ok\nsn: Ok\n" +
		"userPassword: {SSHA}NSZEu/ZzEMKdBO5ESNEYml3qKRYBAgMEBQYHCA==\n\n" +
		"dn: uid=typo,ou=people,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: typo\ncn: Typo\nsn: Typo\n" +
		"userPassword: {SSHA}xxxx\n"
	d := newDir(t)
	_, err := Import(context.Background(), d, strings.NewReader(in), testLayout(t))
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Problems) != 1 || !strings.Contains(ie.Problems[0].Error(), "line 8: userPassword {SSHA}: malformed") {
		t.Fatalf("want one problem naming line 8 and the malformed {SSHA}, got %v", err)
	}
	if _, err := d.User(context.Background(), "ok"); !errors.Is(err, directory.ErrNotFound) {
		t.Errorf("a refused import created a user: %v", err)
	}
}

// TestImportReportsEveryClashWithOnlyGroups: a directory with groups but no
// users is still checked up front, so every clash is reported at once
// (creating the groups would stop at the first).
func TestImportReportsEveryClashWithOnlyGroups(t *testing.T) {
	ctx := context.Background()
	d := newDir(t)
	for _, cn := range []string{"ops", "dev"} {
		_, err := d.CreateGroup(ctx, directory.Group{CN: cn})
		must(t, err)
	}
	file := "dn: cn=ops,ou=groups,dc=example,dc=com\nobjectClass: posixGroup\ncn: ops\ngidNumber: 7001\n\n" +
		"dn: cn=dev,ou=groups,dc=example,dc=com\nobjectClass: posixGroup\ncn: dev\ngidNumber: 7002\n"
	_, err := Import(ctx, d, strings.NewReader(file), testLayout(t))
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Problems) != 2 || !errors.Is(err, directory.ErrAlreadyExists) {
		t.Fatalf("import: %v; want both groups reported as already in the directory", err)
	}
}
