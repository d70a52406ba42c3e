package ldapserver

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/ldif"
)

// The tree: how directory records appear as LDAP entries.
//
//	<base>                          dcObject/organization
//	├── ou=people                   users
//	├── ou=groups                   groups
//	├── ou=services                 bind accounts
//	└── sambaDomainName=<DOMAIN>    when Samba support is on, and one
//	                                per NetBIOS name of a NAS

// SambaDomain identifies the Samba domain whose SIDs Atrium serves.
type SambaDomain struct {
	Name string // NetBIOS domain name
	SID  string // S-1-5-21-x-y-z
	// NetBIOSNames are the names of standalone Samba servers (NAS boxes)
	// that use Atrium as their passdb. Such a server looks for the domain
	// entry of its own name, so each gets one, all with SID: a user's SID
	// is then the same on every box.
	NetBIOSNames []string
	// Lockout is the account lockout policy Samba applies to SMB logins;
	// a zero Threshold turns it off.
	Lockout SambaLockout
}

// SambaLockout locks a user's SMB logins for Duration after Threshold
// wrong passwords, counting those less than Window apart.
type SambaLockout struct {
	Threshold        int
	Duration, Window time.Duration
}

// policy returns the account policy attributes of the domain entries.
// Samba writes any it does not find, so every one is served; all but the
// lockout are Samba's defaults.
func (s *SambaDomain) policy() []attribute {
	minutes := func(d time.Duration) string { return strconv.Itoa(int((d + time.Minute - 1) / time.Minute)) }
	return []attribute{
		{"sambaMinPwdLength", []string{"5"}},
		{"sambaPwdHistoryLength", []string{"0"}},
		{"sambaLogonToChgPwd", []string{"0"}},
		{"sambaMaxPwdAge", []string{"-1"}},
		{"sambaMinPwdAge", []string{"0"}},
		{"sambaLockoutDuration", []string{minutes(s.Lockout.Duration)}},
		{"sambaLockoutObservationWindow", []string{minutes(s.Lockout.Window)}},
		{"sambaLockoutThreshold", []string{strconv.Itoa(s.Lockout.Threshold)}},
		{"sambaForceLogoff", []string{"-1"}},
		{"sambaRefuseMachinePwdChange", []string{"0"}},
	}
}

// names returns the domain's name and the NetBIOS names, upper-cased and
// each once.
func (s *SambaDomain) names() []string {
	out := []string{strings.ToUpper(s.Name)}
	for _, n := range s.NetBIOSNames {
		if n = strings.ToUpper(n); !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Samba's algorithmic RID mapping (rid = 2*id + 1000, +1 for groups), so
// SIDs follow from uidNumber and gidNumber without being stored.
func userRID(uidNumber int) int  { return 2*uidNumber + 1000 }
func groupRID(gidNumber int) int { return 2*gidNumber + 1001 }

// entry is one LDAP entry as the search engine sees it.
type entry struct {
	dn    string // canonical spelling, emitted byte-identically everywhere
	ndn   string // normalised, for comparisons (fixed entries only)
	attrs []attribute
	// kind and id tie the entry back to its record.
	kind entryKind
	id   string
	// fill adds the attributes named in deferred, which cost lookups to
	// spell and which most searches neither ask for nor test: a group's
	// member, uniqueMember and memberUid (a lookup per member), a user's
	// memberOf. members are those of a group whose member attributes are
	// deferred, so that equality on them can be decided from IDs
	// (evaluator.member).
	fill     func(*entry)
	deferred []string
	members  *directory.Members
}

// isMemberAttr reports whether name is one of a group's member attributes.
func isMemberAttr(name string) bool {
	return name == "member" || name == "uniqueMember" || name == "memberUid"
}

// complete adds the deferred attributes, if any.
func (e *entry) complete() {
	if e.fill != nil {
		fill := e.fill
		e.fill, e.deferred, e.members = nil, nil, nil
		fill(e)
	}
}

type entryKind int

const (
	kindContainer entryKind = iota
	kindUser
	kindGroup
	kindPrivateGroup // a user's private group: id is the user's
	kindAccount
	kindRootDSE
	kindSubschema
)

type attribute struct {
	name   string // canonical name
	values []string
}

func (e *entry) add(name string, values ...string) {
	if len(values) == 0 {
		return
	}
	e.attrs = append(e.attrs, attribute{name: name, values: values})
}

// get returns the values of the attribute with this canonical name.
func (e *entry) get(name string) []string {
	if e.fill != nil && slices.Contains(e.deferred, name) {
		e.complete()
	}
	for _, a := range e.attrs {
		if a.name == name {
			return a.values
		}
	}
	return nil
}

func generalizedTime(t time.Time) string { return t.UTC().Format("20060102150405Z") }

// tree builds entries from records.
type tree struct {
	layout    ldif.Layout
	samba     *SambaDomain
	baseAttrs []attribute
}

func (t *tree) common(e *entry, id string, created, modified time.Time) {
	t.commonOf(e, nil, id, created, modified)
}

// commonOf adds the attributes common to all entries, those in only (nil
// for all).
func (t *tree) commonOf(e *entry, only attrSet, id string, created, modified time.Time) {
	add := func(name, value string) {
		if only.has(name) {
			e.add(name, value)
		}
	}
	add("entryUUID", id)
	add("entryDN", e.dn)
	if only.has("createTimestamp") {
		e.add("createTimestamp", generalizedTime(created))
	}
	if only.has("modifyTimestamp") {
		e.add("modifyTimestamp", generalizedTime(modified))
	}
	add("subschemaSubentry", subschemaDN)
	add("hasSubordinates", "FALSE")
}

// userEntry builds the entry of u. groupDNs are the DNs of its direct
// groups (memberOf). With only it builds only those attributes: a search
// needs those it returns and those its filter tests.
func (t *tree) userEntry(u directory.User, groupDNs []string, only attrSet) *entry {
	// Room for every attribute below at once: growing the slice took five
	// allocations and 2.3 KB per entry, 8% of a uid search's garbage more
	// than one allocation of 1.1 KB.
	room := 30
	if only != nil {
		room = len(only)
	}
	e := &entry{dn: t.layout.UserDN(u.UID), kind: kindUser, id: u.ID, attrs: make([]attribute, 0, room)}
	add := e.add
	if only != nil {
		add = func(name string, values ...string) {
			if only.has(name) {
				e.add(name, values...)
			}
		}
	}
	var extra []string
	if t.samba != nil {
		extra = []string{"sambaSamAccount"}
	}
	ldif.UserAttributes(u, true, extra, add)
	add("structuralObjectClass", "inetOrgPerson")
	if u.Disabled {
		// ldif.UserAttributes gives shadowExpire 1, which SSSD
		// (ldap_account_expire_policy = shadow) and pam_unix via nslcd read
		// as expired; ppolicy clients read this operational attribute as
		// locked for good.
		add("pwdAccountLockedTime", "000001010000Z")
	}
	add("memberOf", groupDNs...)
	if t.samba != nil {
		add("sambaSID", t.samba.SID+"-"+strconv.Itoa(userRID(u.UIDNumber)))
		add("sambaPrimaryGroupSID", t.samba.SID+"-"+strconv.Itoa(groupRID(u.GIDNumber)))
		add("sambaAcctFlags", acctFlags(u))
		if f := u.SMBFailures; f.Count > 0 {
			add("sambaBadPasswordCount", strconv.Itoa(f.Count))
			add("sambaBadPasswordTime", strconv.FormatInt(f.Last.Unix(), 10))
		}
		if !u.PasswordChanged.IsZero() {
			add("sambaPwdLastSet", strconv.FormatInt(u.PasswordChanged.Unix(), 10))
		}
	}
	t.commonOf(e, only, u.ID, u.Created, u.Modified)
	return e
}

// acctFlags spells u's Samba account flags as Samba does: U (a user
// account), D when disabled, L when Samba locked out its SMB logins.
func acctFlags(u directory.User) string {
	flags := "U"
	if u.Disabled {
		flags += "D"
	}
	if u.SMBFailures.Locked {
		flags += "L"
	}
	return "[" + flags + strings.Repeat(" ", 11-len(flags)) + "]"
}

// groupEntry builds the entry of g. memberDNs are the DNs of its direct
// members (users and groups); memberUIDs the uids of its direct users.
// With only it builds only those attributes, as userEntry does.
func (t *tree) groupEntry(g directory.Group, memberDNs, memberUIDs, parentDNs []string, only attrSet) *entry {
	room := 16
	if only != nil {
		room = len(only)
	}
	e := &entry{dn: t.layout.GroupDN(g.CN), kind: kindGroup, id: g.ID, attrs: make([]attribute, 0, room)}
	add := func(name string, values ...string) {
		if only.has(name) {
			e.add(name, values...)
		}
	}
	if t.samba != nil {
		add("objectClass", "top", "groupOfNames", "groupOfUniqueNames", "posixGroup", "sambaGroupMapping")
	} else {
		add("objectClass", groupClasses...)
	}
	add("structuralObjectClass", "groupOfNames")
	add("cn", g.CN)
	if g.Description != "" {
		add("description", g.Description)
	}
	if only.has("gidNumber") {
		e.add("gidNumber", strconv.Itoa(g.GIDNumber))
	}
	add("member", memberDNs...)
	add("uniqueMember", memberDNs...)
	add("memberUid", memberUIDs...)
	add("memberOf", parentDNs...)
	if t.samba != nil {
		add("sambaSID", t.samba.SID+"-"+strconv.Itoa(groupRID(g.GIDNumber)))
		add("sambaGroupType", "2")
		add("displayName", g.CN)
	}
	t.commonOf(e, only, g.ID, g.Created, g.Modified)
	return e
}

// groupClasses are the object classes of a group without Samba; entries
// share the slice and never write to it.
var groupClasses = []string{"top", "groupOfNames", "groupOfUniqueNames", "posixGroup"}

func (t *tree) accountEntry(a directory.BindAccount) *entry {
	e := &entry{dn: t.layout.BindAccountDN(a.Name), kind: kindAccount, id: a.ID}
	e.add("objectClass", "top", "applicationProcess", "simpleSecurityObject")
	e.add("structuralObjectClass", "applicationProcess")
	e.add("cn", a.Name)
	rights := make([]string, len(a.Rights))
	for i, r := range a.Rights {
		rights[i] = string(r)
	}
	e.add("description", "Atrium bind account ("+strings.Join(rights, ", ")+")")
	t.common(e, a.ID, a.Created, a.Modified)
	return e
}

// kindAttributes lists, by their canonical names, every attribute an
// entry of each kind can carry, taken from entries built from records with
// every field set.
func (t *tree) kindAttributes() map[entryKind]map[string]bool {
	now := time.Unix(1, 0)
	u := directory.User{ID: "x", UID: "x", Mail: "x", GivenName: "x", Surname: "x", DisplayName: "x", UIDNumber: 1, GIDNumber: 1,
		HomeDirectory: "x", LoginShell: "x", SSHKeys: []string{"x"}, Disabled: true, PasswordChanged: now, Created: now, Modified: now,
		SMBFailures: directory.SMBFailures{Count: 1, Last: now, Locked: true}}
	user := t.userEntry(u, []string{"cn=x"}, nil)
	user.add("sambaNTPassword", "x") // added per search, for samba accounts
	group := t.groupEntry(directory.Group{ID: "x", CN: "x", Description: "x", GIDNumber: 1, Created: now, Modified: now},
		[]string{"cn=x"}, []string{"x"}, []string{"cn=x"}, nil)
	account := t.accountEntry(directory.BindAccount{ID: "x", Name: "x", Rights: []directory.Right{directory.RightRead}, Created: now, Modified: now})
	private := t.privateGroupEntry(directory.Group{ID: "x", CN: "x", GIDNumber: 1, Created: now, Modified: now}, u, nil)
	out := map[entryKind]map[string]bool{}
	for _, e := range []*entry{user, group, private, account} {
		out[e.kind] = map[string]bool{}
		for _, a := range e.attrs {
			out[e.kind][a.name] = true
		}
	}
	return out
}

const subschemaDN = "cn=Subschema"

// containerID derives a stable entryUUID for a fixed entry from its DN
// (UUIDv5), so it survives restarts without being stored.
func containerID(dn string) string {
	return uuid.NewSHA1(uuid.NameSpaceX500, []byte(dn)).String()
}

// containers returns the fixed entries: the base, the three ou entries
// and, with Samba, the domain entry.
func (t *tree) containers(started time.Time) []*entry {
	base := &entry{dn: t.layout.Base, kind: kindContainer}
	first, _, _ := strings.Cut(t.layout.Base, ",")
	typ, val, _ := strings.Cut(first, "=")
	switch typ {
	case "dc":
		base.add("objectClass", "top", "dcObject", "organization")
		base.add("dc", val)
		base.add("o", val)
	case "o":
		base.add("objectClass", "top", "organization")
		base.add("o", val)
	default:
		base.add("objectClass", "top", "organizationalUnit")
		base.add("ou", val)
	}
	out := []*entry{base}
	for _, ou := range []struct{ dn, name, desc string }{
		{t.layout.PeopleDN(), "people", "Users"},
		{t.layout.GroupsDN(), "groups", "Groups"},
		{t.layout.ServicesDN(), "services", "Bind accounts for devices and apps"},
	} {
		e := &entry{dn: ou.dn, kind: kindContainer}
		e.add("objectClass", "top", "organizationalUnit")
		e.add("ou", ou.name)
		e.add("description", ou.desc)
		out = append(out, e)
	}
	if t.samba != nil {
		for _, name := range t.samba.names() {
			e := &entry{dn: "sambaDomainName=" + ldif.EscapeDNValue(name) + "," + t.layout.Base, kind: kindContainer}
			e.add("objectClass", "top", "sambaDomain")
			e.add("sambaDomainName", name)
			e.add("sambaSID", t.samba.SID)
			e.attrs = append(e.attrs, t.samba.policy()...)
			out = append(out, e)
		}
	}
	for _, e := range out {
		e.id = containerID(e.dn)
		e.add("entryUUID", e.id)
		e.add("entryDN", e.dn)
		e.add("createTimestamp", generalizedTime(started))
		e.add("modifyTimestamp", generalizedTime(started))
		e.add("subschemaSubentry", subschemaDN)
		e.add("hasSubordinates", strings.ToUpper(strconv.FormatBool(!strings.HasPrefix(e.dn, "sambaDomainName="))))
	}
	return out
}

// subschema is the cn=Subschema entry.
func subschemaEntry() *entry {
	e := &entry{dn: subschemaDN, kind: kindSubschema}
	e.add("objectClass", "top", "subentry", "subschema", "extensibleObject")
	e.add("cn", "Subschema")
	e.add("ldapSyntaxes", syntaxDefs...)
	e.add("matchingRules", matchingRuleDefs...)
	e.add("attributeTypes", attributeTypeDefs...)
	e.add("objectClasses", objectClassDefs...)
	return e
}
