package ldif

import (
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
	uidOf := make(map[string]string, len(users))
	for _, u := range users {
		uidOf[u.ID] = u.UID
	}
	cnOf := make(map[string]string, len(groups))
	for _, g := range groups {
		cnOf[g.ID] = g.CN
	}

	total, done := len(users)+len(groups)+len(private), 0
	step := func() {
		if done++; opt.Progress != nil {
			opt.Progress(done, total)
		}
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
	for _, u := range users {
		e := userEntry(l, u, opt)
		if opt.Secrets {
			s, err := d.UserSecrets(ctx, u.ID)
			if err != nil {
				return fmt.Errorf("export %s: %w", u.UID, err)
			}
			if s.PasswordHash != "" {
				e.Add("userPassword", s.PasswordHash)
			}
		}
		if err := lw.Write(e); err != nil {
			return err
		}
		step()
	}
	for _, g := range groups {
		if err := lw.Write(groupEntry(l, g, uidOf, cnOf)); err != nil {
			return err
		}
		step()
	}
	for _, g := range private {
		e := groupEntry(l, g, uidOf, cnOf)
		e.Comments = append(e.Comments, "atrium: the private group of user "+g.CN+", derived from the user; Import leaves it out")
		if err := lw.Write(e); err != nil {
			return err
		}
		step()
	}
	return lw.Flush()
}

// records reads the users, the stored groups and the private groups from
// one snapshot.
func records(ctx context.Context, d *directory.Directory) (users []directory.User, groups, private []directory.Group, err error) {
	err = d.View(ctx, func(ctx context.Context, r directory.Reader) error {
		if err := r.Users("", func(u directory.User) error {
			users = append(users, u)
			return nil
		}); err != nil {
			return err
		}
		if err := r.Groups("", func(g directory.Group) error {
			groups = append(groups, g)
			return nil
		}); err != nil {
			return err
		}
		// The private groups of the users just read, without decoding
		// every user again.
		for _, u := range users {
			g, ok, err := r.PrivateGroup(u)
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

func userEntry(l Layout, u directory.User, opt ExportOptions) Entry {
	e := Entry{DN: l.UserDN(u.UID)}
	if u.Surname == "" {
		e.Comments = append(e.Comments, noSurname)
	}
	if u.DisplayName == "" {
		e.Comments = append(e.Comments, noDisplayName)
	}
	UserAttributes(u, !opt.OmitSSHKeys, nil, e.Add)
	addTimes(&e, u.ID, u.Created, u.Modified)
	return e
}

func groupEntry(l Layout, g directory.Group, uidOf, cnOf map[string]string) Entry {
	e := Entry{DN: l.GroupDN(g.CN)}
	e.Add("objectClass", "top", "posixGroup", "extensibleObject")
	e.Add("cn", g.CN)
	e.Add("gidNumber", strconv.Itoa(g.GIDNumber))
	addIf(&e, "description", g.Description)
	for _, id := range g.Users {
		e.Add("member", l.UserDN(uidOf[id]))
	}
	for _, id := range g.Groups {
		e.Add("member", l.GroupDN(cnOf[id]))
	}
	for _, id := range g.Users {
		e.Add("memberUid", uidOf[id])
	}
	addTimes(&e, g.ID, g.Created, g.Modified)
	return e
}

func addIf(e *Entry, typ, value string) {
	if value != "" {
		e.Add(typ, value)
	}
}

func addTimes(e *Entry, id string, created, modified time.Time) {
	e.Add("entryUUID", id)
	e.Add("createTimestamp", generalizedTime(created))
	e.Add("modifyTimestamp", generalizedTime(modified))
}
