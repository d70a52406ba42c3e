package ldapbench

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/atrium-dir/atrium/directory"
)

// Dataset describes the benchmark directory: Users users and Groups groups,
// each user directly in three groups (so a group has about 3*Users/Groups
// members). Only the first BindUsers users have a password, because
// hashing 100,000 passwords with argon2id would dominate the set-up.
type Dataset struct {
	Base      string
	Users     int
	Groups    int
	BindUsers int
}

// Reader is the bind account both servers give read access to.
const (
	ReaderName     = "reader"
	ReaderPassword = "reader-password"
)

func (d Dataset) UID(i int) string         { return fmt.Sprintf("user%06d", i) }
func (d Dataset) UserDN(i int) string      { return "uid=" + d.UID(i) + ",ou=people," + d.Base }
func (d Dataset) CN(j int) string          { return fmt.Sprintf("group%04d", j) }
func (d Dataset) ReaderDN() string         { return "cn=" + ReaderName + ",ou=services," + d.Base }
func (d Dataset) Password(i int) string    { return "bench-password-" + d.UID(i) }
func (d Dataset) uidNumber(i int) int      { return 20000 + i }
func (d Dataset) gidNumber(j int) int      { return 5000 + j }
func (d Dataset) hasPassword(i int) bool   { return i < d.BindUsers }
func (d Dataset) mail(i int) string        { return d.UID(i) + "@example.com" }
func (d Dataset) surname(i int) string     { return fmt.Sprintf("Tester%d", i) }
func (d Dataset) displayName(i int) string { return "User " + d.surname(i) }

// GroupsOf returns the three groups user i is in.
func (d Dataset) GroupsOf(i int) [3]int {
	g := [3]int{i % d.Groups, (i/d.Groups + 1 + i) % d.Groups, (i/d.Groups*7 + 2 + i) % d.Groups}
	for g[1] == g[0] {
		g[1] = (g[1] + 1) % d.Groups
	}
	for g[2] == g[0] || g[2] == g[1] {
		g[2] = (g[2] + 1) % d.Groups
	}
	return g
}

// LoadAtrium writes the dataset into an empty directory, then sets the
// passwords of the bind users (argon2id, as in production). The records go
// in batches of a few thousand: one bbolt transaction of 100,000 random
// keys would spend its time moving keys inside nodes that only split at
// commit.
func (d Dataset) LoadAtrium(ctx context.Context, dir *directory.Directory) error {
	const chunk = 5000
	// Groups first, so that each user's primary group exists.
	perBatch := max(1, chunk*d.Groups/(3*d.Users))
	ids := make([]string, d.Groups)
	for first := 0; first < d.Groups; first += perBatch {
		err := dir.Batch(ctx, func(b *directory.Batch) error {
			for j := first; j < min(first+perBatch, d.Groups); j++ {
				g, err := b.CreateGroup(directory.Group{CN: d.CN(j), GIDNumber: d.gidNumber(j)})
				if err != nil {
					return err
				}
				ids[j] = g.ID
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("load groups: %w", err)
		}
	}
	for first := 0; first < d.Users; first += chunk {
		err := dir.Batch(ctx, func(b *directory.Batch) error {
			members := map[int][]string{}
			for i := first; i < min(first+chunk, d.Users); i++ {
				u, err := b.CreateUser(directory.User{
					UID: d.UID(i), Mail: d.mail(i), GivenName: "User", Surname: d.surname(i),
					UIDNumber: d.uidNumber(i), GIDNumber: d.gidNumber(d.GroupsOf(i)[0]),
					HomeDirectory: "/home/" + d.UID(i), LoginShell: "/bin/bash",
				})
				if err != nil {
					return err
				}
				for _, g := range d.GroupsOf(i) {
					members[g] = append(members[g], u.ID)
				}
			}
			for j, users := range members {
				if err := b.AddUsers(directory.Group{ID: ids[j], CN: d.CN(j), Users: users, Modified: time.Now().UTC()}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("load users: %w", err)
		}
	}
	for i := range d.BindUsers {
		if err := dir.SetPassword(ctx, d.UID(i), d.Password(i)); err != nil {
			return err
		}
	}
	if _, err := dir.CreateBindAccount(ctx, ReaderName, []directory.Right{directory.RightRead}, ReaderPassword); err != nil {
		return err
	}
	return nil
}

// WriteLDIF writes the same dataset for slapadd: users as inetOrgPerson,
// posixAccount and shadowAccount, groups as posixGroup with member through
// extensibleObject (posixGroup and groupOfNames are both structural in
// OpenLDAP's nis.schema, so they cannot share an entry), and passwords as {SSHA},
// slapd's default scheme.
func (d Dataset) WriteLDIF(out io.Writer) error {
	w := bufio.NewWriterSize(out, 1<<20)
	fmt.Fprintf(w, "dn: %s\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: example\n\n", d.Base)
	for _, ou := range []string{"people", "groups", "services"} {
		fmt.Fprintf(w, "dn: ou=%s,%s\nobjectClass: top\nobjectClass: organizationalUnit\nou: %s\n\n", ou, d.Base, ou)
	}
	fmt.Fprintf(w, "dn: %s\nobjectClass: top\nobjectClass: applicationProcess\nobjectClass: simpleSecurityObject\ncn: %s\nuserPassword: %s\n\n",
		d.ReaderDN(), ReaderName, ssha(ReaderPassword))
	for i := range d.Users {
		fmt.Fprintf(w, "dn: %s\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nobjectClass: shadowAccount\n", d.UserDN(i))
		fmt.Fprintf(w, "uid: %s\ncn: %s\nsn: %s\ngivenName: User\ndisplayName: %s\nmail: %s\nuidNumber: %d\ngidNumber: %d\nhomeDirectory: /home/%s\nloginShell: /bin/bash\ngecos: %s\n",
			d.UID(i), d.displayName(i), d.surname(i), d.displayName(i), d.mail(i), d.uidNumber(i), d.gidNumber(d.GroupsOf(i)[0]), d.UID(i), d.displayName(i))
		if d.hasPassword(i) {
			fmt.Fprintf(w, "userPassword: %s\n", ssha(d.Password(i)))
		}
		w.WriteString("\n")
	}
	members := make([][]int, d.Groups)
	for i := range d.Users {
		for _, g := range d.GroupsOf(i) {
			members[g] = append(members[g], i)
		}
	}
	for j := range d.Groups {
		fmt.Fprintf(w, "dn: cn=%s,ou=groups,%s\nobjectClass: top\nobjectClass: posixGroup\nobjectClass: extensibleObject\ncn: %s\ngidNumber: %d\n", d.CN(j), d.Base, d.CN(j), d.gidNumber(j))
		for _, i := range members[j] {
			fmt.Fprintf(w, "member: %s\nmemberUid: %s\n", d.UserDN(i), d.UID(i))
		}
		w.WriteString("\n")
	}
	return w.Flush()
}

// ssha is OpenLDAP's {SSHA}: SHA-1 over password and a 4-byte salt.
func ssha(pw string) string {
	salt := make([]byte, 4)
	rand.Read(salt)
	h := sha1.New()
	h.Write([]byte(pw))
	h.Write(salt)
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h.Sum(nil), salt...))
}
