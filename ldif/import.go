package ldif

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/google/uuid"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

// Report says what an import kept and what it left out.
type Report struct {
	Users     int
	Groups    int
	Passwords int // password hashes kept
	// Skipped lists entries, members and values that were not imported,
	// each with the reason.
	Skipped []Skip
	// IgnoredAttributes are attribute types found on imported users and
	// groups that Atrium does not keep (telephoneNumber, say), sorted.
	IgnoredAttributes []string
}

// Skip is one thing in the file that was not imported, and why.
type Skip struct {
	DN     string
	Reason string
}

func (s Skip) String() string { return s.DN + ": " + s.Reason }

// ImportError lists every problem that stopped an import. When Import
// returns one, the directory is as it was.
type ImportError struct {
	Problems []error
}

func (e *ImportError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	noun := "problems"
	if len(msgs) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("import refused, nothing was changed (%d %s):\n  %s", len(msgs), noun, strings.Join(msgs, "\n  "))
}

// Unwrap lets errors.Is find directory.ErrAlreadyExists and the like.
func (e *ImportError) Unwrap() []error { return e.Problems }

// Import reads LDIF from r and adds its users and groups to d, all in one
// transaction: when anything fatal is found (a syntax error, an invalid or
// duplicate uid, mail, number or entryUUID, a taken name, a cycle of
// groups) it returns an *ImportError or a *SyntaxError and d is unchanged.
//
// It reads OpenLDAP exports (slapcat output with operational attributes)
// and Atrium's own exports:
//   - users are entries with objectClass inetOrgPerson or posixAccount;
//     their entryUUID, createTimestamp, modifyTimestamp, numbers and password
//     hashes are kept;
//   - groups are entries with objectClass groupOfNames, groupOfUniqueNames
//     or posixGroup (one entry may be several). Members named by DN (member,
//     uniqueMember) are found among the file's entries, wherever they sit in
//     its tree, then among d's users and groups under l; members named by
//     memberUid are found by uid.
//   - a user joins the group its gidNumber names (its primary group),
//     listed or not; a gidNumber that names no group is dropped and the
//     user gets their private group. A group that is a user's private group
//     (named and numbered as the user, no other member) is left out: Atrium
//     derives it.
//
// Not imported, and listed in the Report: containers (the base, ou=...),
// entries of other classes, members that cannot be found, cleartext
// passwords and hashes of schemes Atrium cannot verify (the user is
// imported without a password).
func Import(ctx context.Context, d *directory.Directory, r io.Reader, l Layout) (Report, error) {
	return ImportWith(ctx, d, r, l, ImportOptions{})
}

// ImportOptions are the optional parts of an import.
type ImportOptions struct {
	// Progress, when set, is called after each entry read with how many
	// have been read. The entries are written, in one transaction, once
	// all are read and checked.
	Progress func(entries int)
	// Size is the file's size in bytes, when known: the import then sizes
	// its tables for the entries to come at once, rather than growing them
	// (and copying what they hold) again and again.
	Size int64
}

// bytesPerEntry is what an entry of an export takes, about: slapcat writes
// 600 to 1,000 bytes for a user.
const bytesPerEntry = 700

// ImportWith is Import with options.
func ImportWith(ctx context.Context, d *directory.Directory, r io.Reader, l Layout, opt ImportOptions) (Report, error) {
	p, err := newPlan(l, d.Now(), int(opt.Size/bytesPerEntry))
	if err != nil {
		return Report{}, err
	}
	read := 0
	// The file is parsed on another core while the plan takes each entry.
	batches, readErr := readBatches(NewReader(r))
	for batch := range batches {
		for _, e := range batch {
			p.add(e)
			if read++; opt.Progress != nil {
				opt.Progress(read)
			}
		}
	}
	if err := <-readErr; err != nil {
		return Report{}, fmt.Errorf("read LDIF: %w", err)
	}
	p.link()
	// Only the users by uid are looked up from here on; a big file's DNs
	// and claims would otherwise stay in memory through the write.
	p.byDN, p.skipped, p.claimed = nil, nil, nil
	if len(p.problems) > 0 {
		return Report{}, &ImportError{Problems: p.problems}
	}
	err = d.BulkBatch(ctx, p.apply)
	var ie *ImportError
	if errors.As(err, &ie) {
		return Report{}, err
	}
	if err != nil {
		return Report{}, &ImportError{Problems: []error{err}}
	}
	return p.report, nil
}

// readBatches reads lr's entries in a goroutine of their own and sends
// them in batches, then the error that ended the reading (nil at the end
// of the file) once the batches are closed.
func readBatches(lr *Reader) (<-chan []Entry, <-chan error) {
	const batchLen = 256
	batches, done := make(chan []Entry, 4), make(chan error, 1)
	go func() {
		defer close(batches)
		batch := make([]Entry, 0, batchLen)
		for {
			e, err := lr.Next()
			if err != nil || len(batch) == batchLen {
				batches <- batch
				batch = make([]Entry, 0, batchLen)
			}
			if errors.Is(err, io.EOF) {
				done <- nil
				return
			}
			if err != nil {
				done <- err
				return
			}
			batch = append(batch, e)
		}
	}()
	return batches, done
}

// importedUser is a user read from the file, with what is needed to create it.
type importedUser struct {
	dn   string
	u    directory.User
	hash string // a recognised password hash, or ""
}

// importedGroup is a group read from the file. Its members are resolved in
// link (among the file's entries) and in apply (among the directory's).
type importedGroup struct {
	dn      string
	g       directory.Group
	members []string // member DNs as written, to resolve
	uids    []string // memberUid values, to resolve
	nested  []*importedGroup
	hasUser map[string]bool // g.Users as a set, while members are added
}

// addUser makes the user with this ID a member, once: a group of an
// OpenLDAP export often names each member twice (member and memberUid).
func (ig *importedGroup) addUser(id string) {
	if ig.hasUser == nil {
		ig.hasUser = make(map[string]bool, len(ig.g.Users))
		for _, u := range ig.g.Users {
			ig.hasUser[u] = true
		}
	}
	if !ig.hasUser[id] {
		ig.hasUser[id] = true
		ig.g.Users = append(ig.g.Users, id)
	}
}

// plan is everything read from the file, checked against itself.
type plan struct {
	now      time.Time
	people   string // dnKey of the layout's ou=people, ou=groups
	groupsOU string

	users    []*importedUser
	groups   []*importedGroup
	byDN     map[string]any           // dnKey -> *importedUser or *importedGroup
	byUID    map[string]*importedUser // folded uid (every uid value) -> user
	skipped  map[string]string        // dnKey of a skipped entry -> its DN
	claimed  map[claimKey]string      // {"uid", "alice"} and the like -> DN holding it
	ignored  map[string]string        // lower-cased type -> the first spelling met
	names    map[string]string        // attribute type as spelt -> attrName
	classes  map[string]string        // object class as spelt -> lower case
	problems []error
	report   Report
}

// newPlan makes a plan for about entries entries.
func newPlan(l Layout, now time.Time, entries int) (*plan, error) {
	people, err := dnKey(l.PeopleDN())
	if err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	groups, _ := dnKey(l.GroupsDN())
	return &plan{
		now: now, people: people, groupsOU: groups,
		users: make([]*importedUser, 0, entries),
		byDN:  make(map[string]any, entries), byUID: make(map[string]*importedUser, entries),
		// A user claims a uid, a mail address, a number and an entryUUID.
		claimed: make(map[claimKey]string, 4*entries),
		skipped: map[string]string{}, ignored: map[string]string{},
		names: map[string]string{}, classes: map[string]string{},
	}, nil
}

func (p *plan) problem(dn, format string, args ...any) {
	p.problems = append(p.problems, fmt.Errorf("%s: %s", dn, fmt.Sprintf(format, args...)))
}

func (p *plan) skip(dn, reason string) {
	p.report.Skipped = append(p.report.Skipped, Skip{DN: dn, Reason: reason})
}

// claim records that dn holds a value that must be unique in the file.
func (p *plan) claim(dn, what, value string) {
	k := claimKey{what, strings.ToLower(value)}
	if other, ok := p.claimed[k]; ok {
		p.problem(dn, "%s %q is also held by %s", what, value, other)
		return
	}
	p.claimed[k] = dn
}

// claimKey is a value that must be unique in the file: what it is, and
// the value in lower case.
type claimKey struct{ what, value string }

// Attribute names as Import compares them: lower case, aliases to the name
// slapcat writes.
var aliases = map[string]string{
	"commonname": "cn", "surname": "sn", "userid": "uid", "rfc822mailbox": "mail", "gn": "givenname",
}

// Attributes Import reads into users and groups; the rest are reported as
// ignored, except operational ones that an export always carries and a new
// directory makes afresh.
var (
	userAttrs = set("objectclass", "uid", "mail", "givenname", "sn", "cn", "displayname", "uidnumber",
		"gidnumber", "homedirectory", "loginshell", "sshpublickey", "userpassword", "entryuuid",
		"createtimestamp", "modifytimestamp", "shadowlastchange", "shadowexpire", "pwdchangedtime",
		"pwdaccountlockedtime")
	groupAttrs = set("objectclass", "cn", "description", "gidnumber", "member", "uniquemember",
		"memberuid", "entryuuid", "createtimestamp", "modifytimestamp")
	derivedAttrs = set("structuralobjectclass", "entrycsn", "creatorsname", "modifiersname",
		"contextcsn", "entrydn", "hassubordinates", "subschemasubentry", "memberof", "gecos",
		"numsubordinates")
)

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// values returns the values of the attribute name, compared without regard
// to case and with aliases (surname for sn). A description with options
// ("cn;lang-de") is another attribute.
func values(e *Entry, name string) []string {
	var out []string
	for i, n := range attrNames(e) {
		if sameName(n, name) {
			out = append(out, e.Attrs[i].Value)
		}
	}
	return out
}

// attrNames returns attrName of each of e's attributes, worked out once per
// entry: Import looks up some twenty attributes in each.
func attrNames(e *Entry) []string {
	if len(e.names) != len(e.Attrs) {
		e.names = make([]string, len(e.Attrs))
		for i, a := range e.Attrs {
			e.names[i] = attrName(a.Type)
		}
	}
	return e.names
}

func first(e *Entry, name string) string {
	for i, n := range attrNames(e) {
		if sameName(n, name) {
			return e.Attrs[i].Value
		}
	}
	return ""
}

// sameName reports whether n, an attrName, names the attribute name (as
// spelt in the code, "uidNumber"), without lower-casing name each time.
func sameName(n, name string) bool {
	return len(n) == len(name) && strings.EqualFold(n, name)
}

func attrName(typ string) string {
	t := strings.ToLower(typ)
	if a, ok := aliases[t]; ok {
		return a
	}
	return t
}

// Object classes that only hold the tree together.
var containerClasses = set("organizationalunit", "organization", "domain", "dcobject", "country", "locality", "top")

// add classifies one entry and reads it into the plan.
func (p *plan) add(e Entry) {
	key, err := dnKey(e.DN)
	if err != nil {
		p.problem(e.DN, "line %d: %v", e.Line, err)
		return
	}
	if _, dup := p.byDN[key]; dup {
		p.problem(e.DN, "line %d: a second entry with this DN", e.Line)
		return
	}
	p.nameAttrs(&e)
	classes := map[string]bool{}
	for i, n := range e.names {
		if n == "objectclass" {
			classes[p.class(e.Attrs[i].Value)] = true
		}
	}
	isUser := classes["inetorgperson"] || classes["posixaccount"]
	isGroup := classes["groupofnames"] || classes["groupofuniquenames"] || classes["posixgroup"]
	switch {
	case isUser && isGroup:
		p.skipEntry(key, e.DN, "its object classes make it both a user and a group; Atrium keeps the two apart")
	case isUser:
		p.addUser(key, &e)
	case isGroup:
		p.addGroup(key, &e)
	case len(classes) == 0:
		p.skipEntry(key, e.DN, "no objectClass")
	case onlyContainer(classes):
		p.skipEntry(key, e.DN, "a container; Atrium keeps its own tree (ou=people, ou=groups, ou=services)")
	case classes["simplesecurityobject"] || (classes["applicationprocess"] && first(&e, "userPassword") != ""):
		p.skipEntry(key, e.DN, "a service account; give the device or app a bind account (atrium bind-account add)")
	default:
		names := values(&e, "objectClass")
		names = slices.DeleteFunc(names, func(c string) bool { return strings.EqualFold(c, "top") })
		p.skipEntry(key, e.DN, "object class "+strings.Join(names, ", ")+" is not imported (only users and groups are)")
	}
}

func onlyContainer(classes map[string]bool) bool {
	for c := range classes {
		if !containerClasses[c] {
			return false
		}
	}
	return true
}

func (p *plan) skipEntry(key, dn, reason string) {
	p.skipped[key] = dn
	p.skip(dn, reason)
}

func (p *plan) noteIgnored(e *Entry, known map[string]bool) {
	for i, n := range attrNames(e) {
		if _, seen := p.ignored[n]; !seen && !known[n] && !derivedAttrs[n] {
			p.ignored[n] = e.Attrs[i].Type
		}
	}
}

// nameAttrs works out attrNames of e through the plan's cache: a file
// spells its few attribute types and object classes the same way in every
// entry, and lower-casing each anew was a tenth of the import's
// allocations.
func (p *plan) nameAttrs(e *Entry) {
	e.names = make([]string, len(e.Attrs))
	for i, a := range e.Attrs {
		n, ok := p.names[a.Type]
		if !ok {
			n = attrName(a.Type)
			if len(p.names) < maxCachedNames {
				p.names[a.Type] = n
			}
		}
		e.names[i] = n
	}
}

// class is an object class in lower case, through a cache likewise.
func (p *plan) class(v string) string {
	l, ok := p.classes[v]
	if !ok {
		l = strings.ToLower(v)
		if len(p.classes) < maxCachedNames {
			p.classes[v] = l
		}
	}
	return l
}

// maxCachedNames bounds the cache of spellings, for a file with ever new ones.
const maxCachedNames = 1000

// rdnValue returns the value of the entry's RDN when its type is typ.
func rdnValue(dn, typ string) string {
	if plainDN(dn) { // the common case, without parsing
		rdn, _, _ := strings.Cut(dn, ",")
		t, v, _ := strings.Cut(rdn, "=")
		if attrName(t) == typ {
			return v
		}
		return ""
	}
	parsed, err := ldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) == 0 {
		return ""
	}
	for _, a := range parsed.RDNs[0].Attributes {
		if attrName(a.Type) == typ {
			return a.Value
		}
	}
	return ""
}

// noSurname marks a user whose sn is only there because inetOrgPerson needs
// one (see Export).
const (
	noSurname     = "atrium: no surname; sn repeats the uid because inetOrgPerson requires one"
	noDisplayName = "atrium: no display name; displayName is the name the others give"
)

func (p *plan) addUser(key string, e *Entry) {
	uids := values(e, "uid")
	if len(uids) == 0 {
		p.skipEntry(key, e.DN, "a person without uid; Atrium users need a login name")
		return
	}
	uid := rdnValue(e.DN, "uid")
	if uid == "" || !slices.ContainsFunc(uids, func(v string) bool { return strings.EqualFold(v, uid) }) {
		uid = uids[0]
	}
	var others []string
	for _, v := range uids {
		if !strings.EqualFold(v, uid) {
			others = append(others, v)
		}
	}
	if len(others) > 0 {
		p.skip(e.DN, fmt.Sprintf("uid %s not kept: a user has one uid, %s is kept (memberUid values naming the others still resolve)", strings.Join(others, ", "), uid))
	}
	if !directory.ValidUID(uid) {
		p.problem(e.DN, "uid %q: use letters, digits, '.', '_' and '-' (rename it in the file)", uid)
		return
	}
	iu := &importedUser{dn: e.DN}
	u := &iu.u
	u.UID = uid
	readNames(u, e)
	mails := values(e, "mail")
	if len(mails) > 0 {
		u.Mail = strings.TrimSpace(mails[0])
		if len(mails) > 1 {
			p.skip(e.DN, fmt.Sprintf("mail %s not kept: a user has one address, %s is kept", strings.Join(mails[1:], ", "), u.Mail))
		}
	}
	u.UIDNumber = p.number(e, "uidNumber")
	u.GIDNumber = p.number(e, "gidNumber")
	u.HomeDirectory = first(e, "homeDirectory")
	u.LoginShell = first(e, "loginShell")
	for _, k := range values(e, "sshPublicKey") {
		if k = strings.TrimSpace(k); k != "" {
			u.SSHKeys = append(u.SSHKeys, k)
		}
	}
	u.ID = p.entryUUID(e)
	u.Created = p.timestamp(e, "createTimestamp")
	u.Modified = p.timestamp(e, "modifyTimestamp")
	u.Disabled = p.disabled(e)
	iu.hash = p.passwordHash(e)
	if iu.hash != "" {
		u.PasswordChanged = p.timestamp(e, "pwdChangedTime")
		if n := first(e, "shadowLastChange"); u.PasswordChanged.IsZero() && n != "" {
			if d, err := strconv.ParseInt(n, 10, 64); err == nil && d > 0 {
				u.PasswordChanged = time.Unix(d*86400, 0).UTC()
			}
		}
	}

	p.claim(e.DN, "uid", u.UID)
	if u.Mail != "" {
		p.claim(e.DN, "mail", u.Mail)
	}
	if u.UIDNumber != 0 {
		p.claim(e.DN, "uidNumber", strconv.Itoa(u.UIDNumber))
	}
	p.claim(e.DN, "entryUUID", u.ID)
	p.noteIgnored(e, userAttrs)
	p.users = append(p.users, iu)
	p.byDN[key] = iu
	for _, v := range uids {
		if _, taken := p.byUID[strings.ToLower(v)]; !taken {
			p.byUID[strings.ToLower(v)] = iu
		}
	}
}

func (p *plan) addGroup(key string, e *Entry) {
	cn := rdnValue(e.DN, "cn")
	if cn == "" {
		cn = first(e, "cn")
	}
	if !directory.ValidGroupName(cn) {
		p.problem(e.DN, "group name %q: use letters, digits, spaces, '.', '_' and '-' (rename it in the file)", cn)
		return
	}
	ig := &importedGroup{dn: e.DN}
	g := &ig.g
	g.CN = cn
	g.Description = first(e, "description")
	g.GIDNumber = p.number(e, "gidNumber")
	g.ID = p.entryUUID(e)
	g.Created = p.timestamp(e, "createTimestamp")
	g.Modified = p.timestamp(e, "modifyTimestamp")
	ig.members = values(e, "member")
	for _, m := range values(e, "uniqueMember") {
		ig.members = append(ig.members, stripUID(m))
	}
	ig.uids = values(e, "memberUid")

	p.claim(e.DN, "group", g.CN)
	if g.GIDNumber != 0 {
		p.claim(e.DN, "gidNumber", strconv.Itoa(g.GIDNumber))
	}
	p.claim(e.DN, "entryUUID", g.ID)
	p.noteIgnored(e, groupAttrs)
	p.groups = append(p.groups, ig)
	p.byDN[key] = ig
}

// readNames reads a user's given name, surname and display name, leaving
// out what an Atrium export marks as placeholders. A cn that the other
// names do not give is the display name.
func readNames(u *directory.User, e *Entry) {
	u.GivenName = first(e, "givenName")
	u.Surname = first(e, "sn")
	if slices.Contains(e.Comments, noSurname) {
		u.Surname = ""
	}
	u.DisplayName = first(e, "displayName")
	if slices.Contains(e.Comments, noDisplayName) {
		u.DisplayName = ""
	}
	if cn := first(e, "cn"); u.DisplayName == "" && cn != "" && cn != u.CommonName() {
		u.DisplayName = cn
	}
}

// stripUID drops the optional "#'0101'B" unique identifier from a
// uniqueMember value (RFC 4517 NameAndOptionalUID).
func stripUID(v string) string {
	if i := strings.LastIndex(v, "#'"); i >= 0 && strings.HasSuffix(v, "'B") {
		return v[:i]
	}
	return v
}

func (p *plan) number(e *Entry, name string) int {
	v := first(e, name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		p.problem(e.DN, "%s %q is not a number Atrium can keep", name, v)
		return 0
	}
	return n
}

func (p *plan) entryUUID(e *Entry) string {
	v := first(e, "entryUUID")
	if v == "" {
		return uuid.NewString()
	}
	id, err := uuid.Parse(v)
	if err != nil {
		p.problem(e.DN, "entryUUID %q is not a UUID", v)
		return uuid.NewString()
	}
	return id.String()
}

func (p *plan) timestamp(e *Entry, name string) time.Time {
	v := first(e, name)
	if v == "" {
		return time.Time{}
	}
	t, err := ParseGeneralizedTime(v)
	if err != nil {
		p.problem(e.DN, "%s: %v", name, err)
	}
	return t
}

// disabled reads the ways OpenLDAP marks an account that may not log in: a
// shadowExpire date that has passed (Atrium exports disabled users with
// shadowExpire 1), or a ppolicy lock by an administrator. A date still to
// come is reported: Atrium has no expiry dates.
func (p *plan) disabled(e *Entry) bool {
	if first(e, "pwdAccountLockedTime") == "000001010000Z" {
		return true
	}
	v := first(e, "shadowExpire")
	if v == "" {
		return false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil:
		p.problem(e.DN, "shadowExpire %q is not a number of days", v)
	case n < 0:
	case n <= days(p.now):
		return true
	case n < 99999:
		p.skip(e.DN, fmt.Sprintf("shadowExpire (account expires %s) not kept: Atrium has no expiry dates; disable the user then",
			time.Unix(n*86400, 0).UTC().Format(time.DateOnly)))
	}
	return false
}

// passwordHash returns the first userPassword value Atrium can verify, and
// reports the others. A hash in a supported scheme that does not parse is a
// problem of the file: stored, it would lock its user out.
func (p *plan) passwordHash(e *Entry) string {
	var kept string
	for _, v := range values(e, "userPassword") {
		scheme, hash := splitScheme(v)
		err := password.Check(hash)
		switch {
		case scheme == "" || scheme == "CLEARTEXT":
			p.skip(e.DN, "userPassword in cleartext not imported; set a password with atrium user passwd")
		case errors.Is(err, password.ErrMalformed):
			p.problem(e.DN, "line %d: userPassword {%s}: %v", e.Line, scheme, err)
		case err != nil:
			p.skip(e.DN, fmt.Sprintf("userPassword scheme {%s} is not supported; set a password with atrium user passwd", scheme))
		case kept != "":
			p.skip(e.DN, fmt.Sprintf("a second userPassword ({%s}) not kept; a user has one password", scheme))
		default:
			kept = hash
		}
	}
	return kept
}

// splitScheme returns the upper-cased scheme of a "{SCHEME}..." value and
// the value with the scheme so spelled; OpenLDAP reads schemes in any case.
func splitScheme(v string) (scheme, hash string) {
	if !strings.HasPrefix(v, "{") {
		return "", v
	}
	end := strings.IndexByte(v, '}')
	if end < 0 {
		return "", v
	}
	scheme = strings.ToUpper(v[1:end])
	return scheme, "{" + scheme + "}" + v[end+1:]
}

// link resolves the members that are entries of the file, and checks that
// nested groups form no cycle. Members it cannot resolve stay for apply.
// The groups are linked on every core: linking one changes only that one.
func (p *plan) link() {
	skips := make([][]Skip, len(p.groups))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range max(1, min(runtime.GOMAXPROCS(0), 4)) {
		wg.Go(func() {
			l := linker{p: p, keys: map[string]string{}}
			for g := int(next.Add(1)) - 1; g < len(p.groups); g = int(next.Add(1)) - 1 {
				skips[g] = l.link(p.groups[g])
			}
		})
	}
	wg.Wait()
	for _, s := range skips {
		p.report.Skipped = append(p.report.Skipped, s...)
	}
	p.order()
}

// linker links groups on one goroutine.
type linker struct {
	p *plan
	// Each member DN is written many times, as it was in its own entry:
	// those that need parsing are parsed once.
	keys map[string]string
}

func (l *linker) memberKey(m string) (string, error) {
	if plainDN(m) {
		return strings.ToLower(m), nil // cheaper than the map
	}
	if k, ok := l.keys[m]; ok {
		return k, nil
	}
	k, err := dnKey(m)
	if err == nil {
		l.keys[m] = k
	}
	return k, err
}

// link resolves ig's members among the file's entries, and returns what
// it dropped.
func (l *linker) link(ig *importedGroup) []Skip {
	p := l.p
	var skips []Skip
	skip := func(reason string) { skips = append(skips, Skip{DN: ig.dn, Reason: reason}) }
	self, _ := dnKey(ig.dn)
	var rest []string
	for _, m := range ig.members {
		key, err := l.memberKey(m)
		switch {
		case strings.TrimSpace(m) == "":
			skip("an empty member value (a placeholder) dropped")
		case err != nil:
			skip(fmt.Sprintf("member %q dropped: %v", m, err))
		case key == self:
			skip("the group names itself as a member (a placeholder, as groupOfNames needs one member); dropped")
		default:
			switch target := p.byDN[key].(type) {
			case *importedUser:
				ig.addUser(target.u.ID)
			case *importedGroup:
				if !slices.Contains(ig.nested, target) {
					ig.nested = append(ig.nested, target)
					ig.g.Groups = append(ig.g.Groups, target.g.ID)
				}
			default:
				if dn, skipped := p.skipped[key]; skipped {
					skip(fmt.Sprintf("member %s dropped: that entry is not imported", dn))
				} else {
					rest = append(rest, m)
				}
			}
		}
	}
	ig.members = rest
	var restUIDs []string
	for _, uid := range ig.uids {
		if iu, ok := p.byUID[strings.ToLower(uid)]; ok {
			ig.addUser(iu.u.ID)
		} else {
			restUIDs = append(restUIDs, uid)
		}
	}
	ig.uids = restUIDs
	return skips
}

func appendNew(list []string, id string) []string {
	if slices.Contains(list, id) {
		return list
	}
	return append(list, id)
}

// order sorts p.groups so that every group comes after the groups nested in
// it, and reports each cycle as a problem.
func (p *plan) order() {
	const (
		unseen = iota
		visiting
		done
	)
	state := map[*importedGroup]int{}
	var sorted []*importedGroup
	var path []*importedGroup
	var visit func(g *importedGroup)
	visit = func(g *importedGroup) {
		switch state[g] {
		case done:
			return
		case visiting:
			i := slices.Index(path, g)
			names := make([]string, 0, len(path)-i+1)
			for _, c := range path[i:] {
				names = append(names, c.g.CN)
			}
			p.problem(g.dn, "groups nested in a cycle (%s -> %s); Atrium refuses cycles", strings.Join(names, " -> "), g.g.CN)
			return
		}
		state[g] = visiting
		path = append(path, g)
		for _, n := range g.nested {
			visit(n)
		}
		path = path[:len(path)-1]
		state[g] = done
		sorted = append(sorted, g)
	}
	for _, g := range p.groups {
		visit(g)
	}
	p.groups = sorted
}

// apply creates the plan inside one directory transaction, after checking
// it against what the directory already holds.
func (p *plan) apply(b *directory.Batch) error {
	r := b.Reader()
	p.checkExisting(r)
	if len(p.problems) > 0 {
		return &ImportError{Problems: p.problems}
	}
	for _, ig := range p.groups {
		p.resolveExisting(r, ig)
	}
	p.dropPrivateGroups(r)
	p.joinPrimaryGroups(r)
	for _, ig := range p.groups {
		ig.hasUser = nil // members are all in; the sets would only hold memory
	}
	p.allocateGIDs(r)
	p.report.Users, p.report.Groups = len(p.users), len(p.groups)
	if err := p.create(b); err != nil {
		return err
	}
	// The batch holds the records now; the plan's copies can go before the
	// store takes its share of memory for the write.
	p.groups = nil
	for _, t := range p.ignored {
		p.report.IgnoredAttributes = append(p.report.IgnoredAttributes, t)
	}
	slices.SortFunc(p.report.IgnoredAttributes, func(a, b string) int {
		return strings.Compare(strings.ToLower(a), strings.ToLower(b))
	})
	return nil
}

// create makes the groups (without their users, so that a user's primary
// group exists before the user), then the users, then the memberships.
func (p *plan) create(b *directory.Batch) error {
	for _, ig := range p.groups {
		g := ig.g
		g.Users = nil
		if _, err := b.CreateGroup(g); err != nil {
			return &ImportError{Problems: []error{fmt.Errorf("%s: %w", ig.dn, err)}}
		}
	}
	// Users with numbers first, so that allocated numbers avoid them.
	users := p.users
	slices.SortStableFunc(users, func(a, b *importedUser) int {
		return boolInt(a.u.UIDNumber == 0) - boolInt(b.u.UIDNumber == 0)
	})
	// Each user read goes once its record is in the batch.
	p.users, p.byUID = nil, nil
	for i, iu := range users {
		users[i] = nil
		if _, err := b.CreateUser(iu.u); err != nil {
			p.problems = append(p.problems, fmt.Errorf("%s: %w", iu.dn, err))
			continue
		}
		if iu.hash != "" {
			if err := b.SetPasswordHash(iu.u.ID, iu.hash); err != nil {
				p.problems = append(p.problems, fmt.Errorf("%s: %w", iu.dn, err))
				continue
			}
			p.report.Passwords++
		}
	}
	if len(p.problems) > 0 {
		return &ImportError{Problems: p.problems}
	}
	for _, ig := range p.groups {
		if len(ig.g.Users) == 0 {
			continue
		}
		if err := b.AddUsers(ig.g); err != nil {
			return &ImportError{Problems: []error{fmt.Errorf("%s: %w", ig.dn, err)}}
		}
	}
	return nil
}

// dropPrivateGroups leaves out each group that is a user's private group
// as Atrium derives it (named and numbered as the user, with no member but
// the user): Atrium serves those itself. So an export, which carries them
// for OpenLDAP's sake, reads back, and so does an OpenLDAP tree that keeps
// a group per user.
func (p *plan) dropPrivateGroups(r directory.Reader) {
	nested := map[*importedGroup]bool{}
	for _, ig := range p.groups {
		for _, n := range ig.nested {
			nested[n] = true
		}
	}
	p.groups = slices.DeleteFunc(p.groups, func(ig *importedGroup) bool {
		if nested[ig] || len(ig.g.Groups) > 0 {
			return false
		}
		u, ok := p.userNamed(r, ig.g.CN)
		if !ok || u.UIDNumber == 0 || ig.g.GIDNumber != u.UIDNumber || (u.GIDNumber != 0 && u.GIDNumber != u.UIDNumber) {
			return false
		}
		for _, id := range ig.g.Users {
			if id != u.ID {
				return false
			}
		}
		p.skip(ig.dn, "the private group of user "+u.UID+", which Atrium derives from the user")
		return true
	})
}

// userNamed finds a user by uid in the file, else in the directory.
func (p *plan) userNamed(r directory.Reader, uid string) (directory.User, bool) {
	if iu, ok := p.byUID[strings.ToLower(uid)]; ok {
		return iu.u, true
	}
	u, err := r.UserByUID(uid)
	return u, err == nil
}

// joinPrimaryGroups makes each user a member of the group its gidNumber
// names: LDAP clients count a user in their primary group whether or not
// memberUid lists them, and Atrium lists them. A gidNumber that names no
// group is dropped, and the user gets their private group.
func (p *plan) joinPrimaryGroups(r directory.Reader) {
	byGID := map[int]*importedGroup{}
	for _, ig := range p.groups {
		if ig.g.GIDNumber != 0 {
			byGID[ig.g.GIDNumber] = ig
		}
	}
	for _, iu := range p.users {
		u := &iu.u
		if u.GIDNumber == 0 || u.GIDNumber == u.UIDNumber {
			continue
		}
		if ig, ok := byGID[u.GIDNumber]; ok {
			ig.addUser(u.ID)
			continue
		}
		if _, err := r.GroupIDByGIDNumber(u.GIDNumber); err == nil {
			continue
		}
		p.skip(iu.dn, fmt.Sprintf("gidNumber %d names no group in the file or the directory; the user gets their private group", u.GIDNumber))
		u.GIDNumber = 0
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// checkExisting reports every name, number and entryUUID of the plan that
// the directory already holds. A directory without users or groups (a
// migration's first import) holds none, and is not asked four times per
// user.
func (p *plan) checkExisting(r directory.Reader) {
	if empty, err := holdsNoUsersOrGroups(r); err == nil && empty {
		return
	}
	taken := func(dn, what string, err error) {
		if err == nil {
			p.problems = append(p.problems, fmt.Errorf("%s: %s is already in the directory: %w", dn, what, directory.ErrAlreadyExists))
		} else if !errors.Is(err, directory.ErrNotFound) {
			p.problems = append(p.problems, fmt.Errorf("%s: %w", dn, err))
		}
	}
	for _, iu := range p.users {
		u := iu.u
		_, err := r.UserByUID(u.UID)
		taken(iu.dn, fmt.Sprintf("uid %q", u.UID), err)
		if u.Mail != "" {
			_, err = r.UserByMail(u.Mail)
			taken(iu.dn, fmt.Sprintf("mail %q", u.Mail), err)
		}
		if u.UIDNumber != 0 {
			_, err = r.UserByUIDNumber(u.UIDNumber)
			taken(iu.dn, fmt.Sprintf("uidNumber %d", u.UIDNumber), err)
		}
		_, err = r.User(u.ID)
		taken(iu.dn, "entryUUID "+u.ID, err)
	}
	for _, ig := range p.groups {
		g := ig.g
		_, err := r.GroupByCN(g.CN)
		taken(ig.dn, fmt.Sprintf("group %q", g.CN), err)
		if g.GIDNumber != 0 {
			_, err = r.GroupByGIDNumber(g.GIDNumber)
			taken(ig.dn, fmt.Sprintf("gidNumber %d", g.GIDNumber), err)
		}
		_, err = r.Group(g.ID)
		taken(ig.dn, "entryUUID "+g.ID, err)
	}
}

func holdsNoUsersOrGroups(r directory.Reader) (bool, error) {
	found := false
	stop := func(string) error { found = true; return directory.ErrStop }
	if err := r.UserIDs(stop); err != nil || found {
		return false, err
	}
	err := r.GroupIDsWithPrefix("", stop)
	return !found, err
}

// resolveExisting finds the members the file does not hold among the
// directory's users (uid=...,ou=people,<base> or a memberUid) and groups
// (cn=...,ou=groups,<base>); the rest are reported and dropped.
func (p *plan) resolveExisting(r directory.Reader, ig *importedGroup) {
	for _, m := range ig.members {
		id, ok := p.existing(r, m)
		switch {
		case !ok:
			p.skip(ig.dn, fmt.Sprintf("member %s dropped: no such user or group in the file or the directory", m))
		case id.group:
			ig.g.Groups = appendNew(ig.g.Groups, id.id)
		default:
			ig.addUser(id.id)
		}
	}
	for _, uid := range ig.uids {
		u, err := r.UserByUID(uid)
		if err != nil {
			p.skip(ig.dn, fmt.Sprintf("memberUid %s dropped: no such user in the file or the directory", uid))
			continue
		}
		ig.addUser(u.ID)
	}
}

type memberID struct {
	id    string
	group bool
}

// existing maps a DN under l to a user or group of the directory.
func (p *plan) existing(r directory.Reader, dn string) (memberID, bool) {
	parsed, err := ldap.ParseDN(dn)
	if err != nil || len(parsed.RDNs) < 2 || len(parsed.RDNs[0].Attributes) != 1 {
		return memberID{}, false
	}
	parent := &ldap.DN{RDNs: parsed.RDNs[1:]}
	parentKey, err := dnKey(parent.String())
	if err != nil {
		return memberID{}, false
	}
	rdn := parsed.RDNs[0].Attributes[0]
	switch {
	case parentKey == p.people && attrName(rdn.Type) == "uid":
		if u, err := r.UserByUID(rdn.Value); err == nil {
			return memberID{id: u.ID}, true
		}
	case parentKey == p.groupsOU && attrName(rdn.Type) == "cn":
		if g, err := r.GroupByCN(rdn.Value); err == nil {
			return memberID{id: g.ID, group: true}, true
		}
	}
	return memberID{}, false
}

// allocateGIDs gives a number to each group that has none. Groups are
// created in nesting order, so the directory's own allocation could hand out
// a number that a group created later brings with it.
func (p *plan) allocateGIDs(r directory.Reader) {
	used := map[int]bool{}
	for _, ig := range p.groups {
		used[ig.g.GIDNumber] = true
	}
	for _, iu := range p.users {
		used[iu.u.UIDNumber] = true
	}
	next := directory.FirstID
	for _, ig := range p.groups {
		if ig.g.GIDNumber != 0 {
			continue
		}
		for {
			taken, err := r.NumberTaken(next)
			if !used[next] && !taken && err == nil {
				break
			}
			next++
		}
		ig.g.GIDNumber = next
		used[next] = true
	}
}
