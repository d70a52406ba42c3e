package ldif

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"runtime"
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
	// are done out of how many (a count that grows as the users' private
	// groups are found).
	Progress func(done, total int)
}

// Export writes every user and group of d as LDIF under l, from one
// consistent snapshot.
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
	base, err := baseEntry(l)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	header := fmt.Sprintf("Atrium export of %s, %s.\nRead it back with atrium import, or load it into OpenLDAP with slapadd.", l.Base, d.Now().UTC().Format("2006-01-02 15:04:05 MST"))
	if opt.Secrets {
		header += "\nIt holds password hashes: keep it as safe as the database."
	}
	lw := NewWriter(w)
	// One read transaction for the whole export, as a backup takes: the
	// users are decoded and written as they go rather than all held first.
	err = d.View(ctx, func(ctx context.Context, r directory.Reader) error {
		x, err := newExport(r, lw, l, opt)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		defer x.decodedGroups() // the decoding reads the View's records
		if err := lw.Comment(header); err != nil {
			return err
		}
		for _, e := range []Entry{base, container(l.PeopleDN(), "people"), container(l.GroupsDN(), "groups")} {
			if err := lw.Write(e); err != nil {
				return err
			}
		}
		return x.run(ctx)
	})
	if err != nil {
		return err
	}
	return lw.Flush()
}

// exportRun is one export under way: the snapshot's records, and what is
// written so far.
type exportRun struct {
	r      directory.Reader
	w      *Writer
	l      Layout
	opt    ExportOptions
	users  directory.UserRecords
	hashes []string           // the users' password hashes, with opt.Secrets
	groups []*directory.Group // once decodedGroups has returned
	// nGroups is how many there are; decoding gives the error of their
	// decoding, then is nil.
	nGroups   int
	decoding  chan error
	decodeErr error
	private   []directory.Group
	members   memberDNs
	// workers format the entries, each into a buffer of its own.
	workers     []*exporter
	done, total int
}

func newExport(r directory.Reader, w *Writer, l Layout, opt ExportOptions) (*exportRun, error) {
	x := &exportRun{r: r, w: w, l: l, opt: opt}
	groups, err := r.GroupRecords()
	if err != nil {
		return nil, err
	}
	// The groups are decoded on another core while the users are read.
	x.decoding = make(chan error, 1)
	go func() {
		var err error
		x.groups, err = groups.Decode()
		x.decoding <- err
	}()
	if err := x.readUsers(); err != nil {
		x.decodedGroups()
		return nil, err
	}
	x.nGroups = groups.Len()
	x.total = x.users.Len() + x.nGroups
	for range max(1, min(runtime.GOMAXPROCS(0), 4)) {
		wx := &exporter{out: &sink{}, l: l, opt: opt}
		wx.w = NewWriter(wx.out)
		wx.w.wrote = true // after the header
		x.workers = append(x.workers, wx)
	}
	return x, nil
}

// decodedGroups waits for the groups' decoding to end, and returns its
// error.
func (x *exportRun) decodedGroups() error {
	if x.decoding != nil {
		x.decodeErr = <-x.decoding
		x.decoding = nil
	}
	return x.decodeErr
}

// readUsers reads the users' records, and their password hashes with
// opt.Secrets.
func (x *exportRun) readUsers() error {
	r, opt := x.r, x.opt
	var err error
	if x.users, err = r.UserRecords(); err != nil {
		return err
	}
	if opt.Secrets {
		x.hashes = make([]string, x.users.Len())
		for i := range x.hashes {
			s, err := r.UserSecrets(x.users.ID(i))
			if err != nil {
				return fmt.Errorf("export user %s: %w", x.users.ID(i), err)
			}
			x.hashes[i] = s.PasswordHash
		}
	}
	return nil
}

// Entries are formatted in chunks, on every core, and written in order.
const (
	usersPerChunk  = 512
	groupsPerChunk = 8
)

func (x *exportRun) run(ctx context.Context) error {
	n := x.users.Len()
	chunks := make([]userChunk, (n+usersPerChunk-1)/usersPerChunk)
	x.members = newMemberDNs(n, x.nGroups)
	err := inOrder(len(x.workers), len(chunks), func(w, c int, out *bytes.Buffer) error {
		return x.workers[w].users(x, c*usersPerChunk, min(n, (c+1)*usersPerChunk), &chunks[c], out)
	}, func(c int, out *bytes.Buffer) error {
		return x.emitUsers(ctx, &chunks[c], out)
	})
	if err != nil {
		return err
	}
	if err := x.decodedGroups(); err != nil {
		return err
	}
	x.members.addGroups(x.l, x.groups)
	for _, wx := range x.workers {
		wx.members = x.members
	}
	g, p := (len(x.groups)+groupsPerChunk-1)/groupsPerChunk, (len(x.private)+usersPerChunk-1)/usersPerChunk
	return inOrder(len(x.workers), g+p, func(w, c int, out *bytes.Buffer) error {
		if c < g {
			return x.workers[w].storedGroups(x.groups[c*groupsPerChunk:min(len(x.groups), (c+1)*groupsPerChunk)], c*groupsPerChunk, out)
		}
		c -= g
		return x.workers[w].privateGroups(x.private[c*usersPerChunk:min(len(x.private), (c+1)*usersPerChunk)], out)
	}, func(c int, out *bytes.Buffer) error {
		if c < g {
			return x.emit(ctx, out, min(groupsPerChunk, len(x.groups)-c*groupsPerChunk))
		}
		c -= g
		return x.emit(ctx, out, min(usersPerChunk, len(x.private)-c*usersPerChunk))
	})
}

// emitUsers writes a chunk of users, and learns their names and which of
// them have a private group.
func (x *exportRun) emitUsers(ctx context.Context, c *userChunk, out *bytes.Buffer) error {
	x.members.addUsers(c)
	for _, u := range c.private {
		g, ok, err := x.r.PrivateGroup(u)
		if err != nil {
			return err
		}
		if ok {
			x.private = append(x.private, g)
			x.total++
		}
	}
	n := len(c.ids)
	*c = userChunk{} // the names are in x.members now
	return x.emit(ctx, out, n)
}

// emit writes a chunk of entries.
func (x *exportRun) emit(ctx context.Context, out *bytes.Buffer, entries int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	x.w.writeBytes(out.Bytes())
	if x.w.err != nil {
		return x.w.err
	}
	if x.done += entries; x.opt.Progress != nil {
		x.opt.Progress(x.done, x.total)
	}
	return nil
}

// sink is where a worker's Writer writes: the buffer of its chunk.
type sink struct{ b *bytes.Buffer }

func (s *sink) Write(p []byte) (int, error) { return s.b.Write(p) }

// exporter writes users and groups to a chunk's buffer, without building
// an Entry for each.
type exporter struct {
	w        *Writer
	out      *sink
	l        Layout
	opt      ExportOptions
	members  memberDNs
	comments []string // the next user's, reused
	at       []int    // the indexes of a group's users, reused
	u        directory.User
}

// users writes users [from, to) of x into out.
func (wx *exporter) users(x *exportRun, from, to int, c *userChunk, out *bytes.Buffer) error {
	wx.out.b = out
	c.names.Grow((to - from) * (len(x.l.PeopleDN()) + 64))
	c.ends = make([]int, 0, 3*(to-from))
	var private []int
	for i := from; i < to; i++ {
		u := &wx.u
		if err := x.users.Decode(i, u); err != nil {
			return err
		}
		dn := c.add(u, x.l.PeopleDN())
		hash := ""
		if x.hashes != nil {
			hash = x.hashes[i]
		}
		if err := wx.user(u, dn, hash); err != nil {
			return err
		}
		if u.HasPrivateGroup() {
			private = append(private, i-from)
			c.private = append(c.private, directory.User{UIDNumber: u.UIDNumber, GIDNumber: u.GIDNumber, Created: u.Created, Modified: u.Modified})
		}
	}
	c.split()
	for k, i := range private {
		c.private[k].ID, c.private[k].UID = c.ids[i], c.uids[i]
	}
	return wx.w.w.Flush()
}

// userChunk is what formatting a chunk of users learnt: their IDs, uids
// and DNs, copied next to each other (a group's members are looked up in
// random order, and the records they came from are far apart), and the
// users who may have a private group.
type userChunk struct {
	names          strings.Builder
	ends           []int
	ids, uids, dns []string
	private        []directory.User
}

// add notes u's ID, uid and DN, and returns the DN (valid until split).
func (c *userChunk) add(u *directory.User, people string) string {
	b := &c.names
	b.WriteString(u.ID)
	c.ends = append(c.ends, b.Len())
	b.WriteString(u.UID)
	c.ends = append(c.ends, b.Len())
	b.WriteString("uid=") // l.UserDN(u.UID), without a string of its own
	b.WriteString(EscapeDNValue(u.UID))
	b.WriteString(",")
	b.WriteString(people)
	c.ends = append(c.ends, b.Len())
	return b.String()[c.ends[len(c.ends)-2]:]
}

func (c *userChunk) split() {
	all, start := c.names.String(), 0
	n := len(c.ends) / 3
	c.ids, c.uids, c.dns = make([]string, n), make([]string, n), make([]string, n)
	for i := range n {
		e := c.ends[3*i : 3*i+3]
		c.ids[i], c.uids[i], c.dns[i] = all[start:e[0]], all[e[0]:e[1]], all[e[1]:e[2]]
		start = e[2]
	}
	c.ends = nil
}

func (wx *exporter) user(u *directory.User, dn, hash string) error {
	wx.comments = wx.comments[:0]
	if u.Surname == "" {
		wx.comments = append(wx.comments, noSurname)
	}
	if u.DisplayName == "" {
		wx.comments = append(wx.comments, noDisplayName)
	}
	if err := wx.w.begin(dn, wx.comments); err != nil {
		return err
	}
	UserAttributes(*u, !wx.opt.OmitSSHKeys, nil, wx.w.add)
	wx.times(u.ID, u.Created, u.Modified)
	if hash != "" {
		wx.w.attr("userPassword", hash)
	}
	return wx.w.err
}

// storedGroups writes the stored groups from first on into out.
func (wx *exporter) storedGroups(groups []*directory.Group, first int, out *bytes.Buffer) error {
	wx.out.b = out
	for i, g := range groups {
		if err := wx.group(g, wx.members.groupDN[first+i], nil); err != nil {
			return err
		}
	}
	return wx.w.w.Flush()
}

// privateGroups writes users' private groups into out.
func (wx *exporter) privateGroups(groups []directory.Group, out *bytes.Buffer) error {
	wx.out.b = out
	for i := range groups {
		comment := []string{"atrium: the private group of user " + groups[i].CN + ", derived from the user; Import leaves it out"}
		if err := wx.group(&groups[i], wx.l.GroupDN(groups[i].CN), comment); err != nil {
			return err
		}
	}
	return wx.w.w.Flush()
}

// group writes a stored or a private group.
func (wx *exporter) group(g *directory.Group, dn string, comments []string) error {
	if err := wx.w.begin(dn, comments); err != nil {
		return err
	}
	wx.w.add("objectClass", "top", "posixGroup", "extensibleObject")
	wx.w.attr("cn", g.CN)
	wx.w.attr("gidNumber", strconv.Itoa(g.GIDNumber))
	if g.Description != "" {
		wx.w.attr("description", g.Description)
	}
	m := &wx.members
	wx.at = wx.at[:0]
	for _, id := range g.Users {
		wx.at = append(wx.at, m.userAt(id))
		wx.w.attr("member", m.userDN[wx.at[len(wx.at)-1]])
	}
	for _, id := range g.Groups {
		wx.w.attr("member", m.groupDN[m.groupAt(id)])
	}
	for _, i := range wx.at {
		wx.w.attr("memberUid", m.uid[i])
	}
	wx.times(g.ID, g.Created, g.Modified)
	return wx.w.err
}

func (wx *exporter) times(id string, created, modified time.Time) {
	wx.w.attr("entryUUID", id)
	wx.w.timeAttr("createTimestamp", created)
	wx.w.timeAttr("modifyTimestamp", modified)
}

// memberDNs names the members of groups: the DN (and uid) of each user and
// group, worked out once rather than once per membership. The last of each
// slice names a member that is not there, with an empty name.
type memberDNs struct {
	user, group map[string]int // ID -> index in the slices below
	userDN, uid []string
	groupDN     []string
}

func newMemberDNs(users, groups int) memberDNs {
	return memberDNs{
		user: make(map[string]int, users), group: make(map[string]int, groups),
		userDN: make([]string, 0, users+1), uid: make([]string, 0, users+1),
		groupDN: make([]string, 0, groups+1),
	}
}

// addUsers adds the next users, in order.
func (m *memberDNs) addUsers(c *userChunk) {
	for i, id := range c.ids {
		m.user[id] = len(m.uid) + i
	}
	m.uid, m.userDN = append(m.uid, c.uids...), append(m.userDN, c.dns...)
}

// addGroups adds the groups, once every user is in.
func (m *memberDNs) addGroups(l Layout, groups []*directory.Group) {
	m.userDN, m.uid = append(m.userDN, l.UserDN("")), append(m.uid, "")
	for i, g := range groups {
		m.group[g.ID] = i
		m.groupDN = append(m.groupDN, l.GroupDN(g.CN))
	}
	m.groupDN = append(m.groupDN, l.GroupDN(""))
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
