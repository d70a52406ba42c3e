package ldif

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
)

// ExportOptions says what an export includes beyond users and groups.
type ExportOptions struct {
	// Secrets adds each user's password hash (userPassword). Such a file
	// must be kept as safe as the database.
	Secrets bool
	// OmitSSHKeys leaves SSH public keys out. They need the openssh-lpk
	// schema (objectClass ldapPublicKey, attribute sshPublicKey), which
	// Debian's stock slapd lacks: slapadd refuses a file that has them
	// unless that schema is loaded. Keys are included by default so that an
	// export loses nothing on its way back into Atrium.
	OmitSSHKeys bool
	// Progress, when set, is called as entries are written with how many
	// are done out of how many.
	Progress func(done, total int)
}

// Export writes every user and group of d as LDIF under l, from one
// consistent snapshot (password hashes are read afterwards, user by user).
// Import reads it back into an identical directory: same entryUUIDs,
// numbers, members (nested groups too), times, and password hashes when
// opt.Secrets is set. Bind accounts, app passwords, NT hashes and the audit
// log are not exported.
//
// The file also loads into OpenLDAP with slapadd and Debian's stock schemas
// (core, cosine, nis, inetorgperson; openssh-lpk too for SSH keys). That
// decides the object classes:
//   - The base and ou=people, ou=groups come first, so slapadd finds every
//     parent.
//   - A user is inetOrgPerson (structural) + posixAccount + shadowAccount,
//     with the attributes the LDAP server serves (UserAttributes). A user
//     without a surname gets sn = uid, and one without a display name gets
//     the common name; a comment before the entry tells Import to drop each
//     again. PasswordChanged goes to shadowLastChange, so
//     it comes back to the day.
//   - A group is posixGroup + extensibleObject. Debian's nis schema makes
//     posixGroup structural, so it cannot share an entry with groupOfNames or
//     groupOfUniqueNames (slapadd: "invalid structural object class chain");
//     and groupOfNames requires a member, which an empty group lacks.
//     posixGroup takes every group, and extensibleObject lets it carry
//     member DNs (users and nested groups) next to memberUid (users). An
//     OpenLDAP with the rfc2307bis schema could use groupOfNames + posixGroup
//     instead; with this file, clients that search for groupOfNames must
//     search for posixGroup.
//   - Users' private groups follow the stored groups, each with a comment:
//     OpenLDAP needs them as entries, and Import recognises and leaves out
//     a group that is a user's private group, so they come back derived.
//   - entryUUID, createTimestamp and modifyTimestamp are written as the
//     operational attributes they are; slapadd keeps them.
func Export(ctx context.Context, d *directory.Directory, w io.Writer, l Layout, opt ExportOptions) error {
	users, groups, private, err := records(ctx, d)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	base, err := baseEntry(l)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	lw := NewWriter(w)
	header := fmt.Sprintf("Atrium export of %s, %s.\nRead it back with atrium import, or load it into OpenLDAP with slapadd.", l.Base, d.Now().UTC().Format("2006-01-02 15:04:05 MST"))
	if opt.Secrets {
		header += "\nIt holds password hashes: keep it as safe as the database."
	}
	if err := lw.Comment(header); err != nil {
		return err
	}
	for _, e := range []Entry{base, container(l.PeopleDN(), "people"), container(l.GroupsDN(), "groups")} {
		if err := lw.Write(e); err != nil {
			return err
		}
	}
	x := exporter{w: lw, l: l, opt: opt, members: memberNames(l, users, groups)}
	x.total = len(users) + len(groups) + len(private)
	// The stored groups are written to memory on another core meanwhile.
	grouped := make(chan *groupsOut, 1)
	go func() { grouped <- x.groups(groups) }()
	for i := range users {
		if err := x.user(ctx, d, users[i], x.members.userDN[i]); err != nil {
			<-grouped
			return err
		}
	}
	g := <-grouped
	start := 0
	for _, end := range g.ends {
		for _, piece := range g.pieces[start:end] {
			x.w.writeBytes(piece)
		}
		if start = end; x.w.err != nil {
			return x.w.err
		}
		x.step()
	}
	for i := range private {
		comment := []string{"atrium: the private group of user " + private[i].CN + ", derived from the user; Import leaves it out"}
		if err := x.group(&private[i], l.GroupDN(private[i].CN), comment); err != nil {
			return err
		}
		x.step()
	}
	return lw.Flush()
}

// groupsOut is the LDIF of the stored groups, in pieces: group i ends
// with piece ends[i].
type groupsOut struct {
	pieces [][]byte
	ends   []int
}

// Write keeps a copy of p: unlike a bytes.Buffer, it never copies what it
// holds to grow (20 MB for 1,000 groups of 300).
func (g *groupsOut) Write(p []byte) (int, error) {
	g.pieces = append(g.pieces, bytes.Clone(p))
	return len(p), nil
}

// groups writes the stored groups to memory, as they follow the users.
func (x *exporter) groups(groups []*directory.Group) *groupsOut {
	out := &groupsOut{ends: make([]int, len(groups))}
	gx := exporter{w: NewWriter(out), l: x.l, opt: x.opt, members: x.members}
	gx.w.wrote = true // after the users
	for i := range groups {
		gx.group(groups[i], x.members.groupDN[i], nil)
		gx.w.w.Flush()
		out.ends[i] = len(out.pieces)
	}
	return out
}

// exporter writes the users and groups of an export straight to the
// Writer, without building an Entry for each.
type exporter struct {
	w           *Writer
	l           Layout
	opt         ExportOptions
	members     memberDNs
	comments    []string // the next user's, reused
	at          []int    // the indexes of a group's users, reused
	done, total int
}

func (x *exporter) step() {
	if x.done++; x.opt.Progress != nil {
		x.opt.Progress(x.done, x.total)
	}
}

func (x *exporter) user(ctx context.Context, d *directory.Directory, u *directory.User, dn string) error {
	x.comments = x.comments[:0]
	if u.Surname == "" {
		x.comments = append(x.comments, noSurname)
	}
	if u.DisplayName == "" {
		x.comments = append(x.comments, noDisplayName)
	}
	if err := x.w.begin(dn, x.comments); err != nil {
		return err
	}
	UserAttributes(*u, !x.opt.OmitSSHKeys, nil, x.w.add)
	x.times(u.ID, u.Created, u.Modified)
	defer x.step()
	if x.opt.Secrets {
		s, err := d.UserSecrets(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("export %s: %w", u.UID, err)
		}
		if s.PasswordHash != "" {
			x.w.attr("userPassword", s.PasswordHash)
		}
	}
	return x.w.err
}

// group writes a stored or a private group.
func (x *exporter) group(g *directory.Group, dn string, comments []string) error {
	if err := x.w.begin(dn, comments); err != nil {
		return err
	}
	x.w.add("objectClass", "top", "posixGroup", "extensibleObject")
	x.w.attr("cn", g.CN)
	x.w.attr("gidNumber", strconv.Itoa(g.GIDNumber))
	if g.Description != "" {
		x.w.attr("description", g.Description)
	}
	m := &x.members
	x.at = x.at[:0]
	for _, id := range g.Users {
		x.at = append(x.at, m.userAt(id))
		x.w.attr("member", m.userDN[x.at[len(x.at)-1]])
	}
	for _, id := range g.Groups {
		x.w.attr("member", m.groupDN[m.groupAt(id)])
	}
	for _, i := range x.at {
		x.w.attr("memberUid", m.uid[i])
	}
	x.times(g.ID, g.Created, g.Modified)
	return x.w.err
}

func (x *exporter) times(id string, created, modified time.Time) {
	x.w.attr("entryUUID", id)
	x.w.timeAttr("createTimestamp", created)
	x.w.timeAttr("modifyTimestamp", modified)
}

// memberDNs names the members of groups: the DN (and uid) of each user and
// group, worked out once rather than once per membership. The last of each
// slice names a member that is not there, with an empty name.
type memberDNs struct {
	user, group map[string]int // ID -> index in the slices below
	userDN, uid []string
	groupDN     []string
}

func memberNames(l Layout, users []*directory.User, groups []*directory.Group) memberDNs {
	m := memberDNs{
		user: make(map[string]int, len(users)), group: make(map[string]int, len(groups)),
		userDN: make([]string, len(users)+1), uid: make([]string, len(users)+1),
		groupDN: make([]string, len(groups)+1),
	}
	// The IDs, uids and DNs are copied next to each other: a group's
	// members are looked up in random order, and the user records they
	// came from are far apart in memory.
	var b strings.Builder
	ends := make([]int, 0, 3*len(users))
	people := l.PeopleDN()
	size := 0
	for _, u := range users {
		size += len(u.ID) + 2*len(u.UID) + len("uid=,") + len(people)
	}
	b.Grow(size) // rarely more: a uid to escape
	for _, u := range users {
		b.WriteString(u.ID)
		ends = append(ends, b.Len())
		b.WriteString(u.UID)
		ends = append(ends, b.Len())
		b.WriteString("uid=") // l.UserDN(u.UID), without a string of its own
		b.WriteString(EscapeDNValue(u.UID))
		b.WriteString(",")
		b.WriteString(people)
		ends = append(ends, b.Len())
	}
	all, start := b.String(), 0
	for i := range users {
		e := ends[3*i : 3*i+3]
		m.user[all[start:e[0]]], m.uid[i], m.userDN[i] = i, all[e[0]:e[1]], all[e[1]:e[2]]
		start = e[2]
	}
	m.userDN[len(users)] = l.UserDN("")
	for i, g := range groups {
		m.group[g.ID], m.groupDN[i] = i, l.GroupDN(g.CN)
	}
	m.groupDN[len(groups)] = l.GroupDN("")
	return m
}

func (m *memberDNs) userAt(id string) int {
	if i, ok := m.user[id]; ok {
		return i
	}
	return len(m.uid) - 1
}

func (m *memberDNs) groupAt(id string) int {
	if i, ok := m.group[id]; ok {
		return i
	}
	return len(m.groupDN) - 1
}

// records reads the users, the stored groups and the private groups from
// one snapshot.
func records(ctx context.Context, d *directory.Directory) (users []*directory.User, groups []*directory.Group, private []directory.Group, err error) {
	err = d.View(ctx, func(ctx context.Context, r directory.Reader) error {
		if users, err = r.AllUsers(); err != nil {
			return err
		}
		if groups, err = r.AllGroups(); err != nil {
			return err
		}
		// The private groups of the users just read, without decoding
		// every user again.
		for _, u := range users {
			g, ok, err := r.PrivateGroup(*u)
			if err != nil {
				return err
			}
			if ok {
				private = append(private, g)
			}
		}
		return nil
	})
	return users, groups, private, err
}

// baseEntry is the entry for l.Base, of a class that its RDN type names.
func baseEntry(l Layout) (Entry, error) {
	parsed, err := ldap.ParseDN(l.Base)
	if err != nil || len(parsed.RDNs) == 0 || len(parsed.RDNs[0].Attributes) != 1 {
		return Entry{}, fmt.Errorf("base DN %q: export needs a base with one attribute in its first RDN", l.Base)
	}
	rdn := parsed.RDNs[0].Attributes[0]
	class := map[string]string{"dc": "domain", "o": "organization", "ou": "organizationalUnit", "c": "country", "l": "locality"}[strings.ToLower(rdn.Type)]
	if class == "" {
		return Entry{}, fmt.Errorf("base DN %q: export can write a base entry for dc=, o=, ou=, c= or l= only", l.Base)
	}
	e := Entry{DN: l.Base}
	e.Add("objectClass", "top", class)
	e.Add(strings.ToLower(rdn.Type), rdn.Value)
	return e, nil
}

func container(dn, ou string) Entry {
	e := Entry{DN: dn}
	e.Add("objectClass", "top", "organizationalUnit")
	e.Add("ou", ou)
	return e
}
