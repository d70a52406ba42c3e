package ldapserver

import (
	"errors"
	"slices"
	"strconv"
	"strings"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
)

// Search scopes (RFC 4511).
const (
	scopeBase = 0
	scopeOne  = 1
	scopeSub  = 2
)

// ref names one entry of the tree.
type ref struct {
	kind entryKind
	id   string // record ID; for containers, the DN
}

// view is one search's consistent look at the directory.
type view struct {
	b      *Backend
	r      directory.Reader
	who    *who
	ntHash bool // add sambaNTPassword to user entries
	// only, when not nil, are the attributes of users the search needs:
	// the rest are not built.
	only attrSet

	// Made when first written: most searches need neither.
	names   map[string]string // DN cache: record ID -> DN
	chain   map[string][]string
	members map[string]ref // hasMember's resolved assertions
	// found keeps the users an index lookup already read, so that loading
	// the candidate does not read and decode the record again.
	found map[string]*directory.User // pointers: a map of whole users took 3 KB per search
	uids  map[string]string          // userByUID's answers: uid as asked -> ID
	err   error                      // the first read that failed while completing an entry
}

// failed notes a read error met while completing an entry; the operation
// reports it when it ends.
func (v *view) failed(err error) {
	if v.err == nil {
		v.err = err
	}
}

// exists reports whether a lookup found what it asked for. Not found is an
// answer; any other error is noted with failed, so that a read that fails
// ends the operation instead of silently dropping entries.
func (v *view) exists(err error) bool {
	if err != nil && !errors.Is(err, directory.ErrNotFound) {
		v.failed(err)
	}
	return err == nil
}

func (v *view) nameDN(id string, group bool) (string, bool) {
	if dn, ok := v.names[id]; ok {
		return dn, true
	}
	name, err := v.r.Name(id)
	if !v.exists(err) {
		return "", false
	}
	dn := v.b.tree.layout.UserDN(name)
	if group {
		dn = v.b.tree.layout.GroupDN(name)
	}
	if v.names == nil {
		v.names = map[string]string{}
	}
	v.names[id] = dn
	return dn, true
}

func (v *view) groupDNs(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if dn, ok := v.nameDN(id, true); ok {
			out = append(out, dn)
		}
	}
	return out
}

// userEntry builds the entry of u with memberOf left for later (see
// entry.fill): the entry must be completed, or dropped, before the view's
// transaction ends.
func (v *view) userEntry(u directory.User) *entry {
	e := v.b.tree.userEntry(u, nil, v.only)
	if v.only.has("memberOf") {
		e.deferred = []string{"memberOf"}
		e.fill = func(e *entry) {
			parents, err := v.r.DirectGroupIDs(u.ID)
			if err != nil {
				v.failed(err)
				return
			}
			e.add("memberOf", v.groupDNs(parents)...)
		}
	}
	if v.ntHash && v.b.tree.samba != nil && v.only.has("sambaNTPassword") {
		nt, err := v.r.NTHash(u.ID)
		if err != nil {
			v.failed(err)
		} else if len(nt) > 0 {
			e.add("sambaNTPassword", strings.ToUpper(hexString(nt)))
		}
	}
	return e
}

// userByUID is Reader.UserByUID, remembering what it found: one search
// often names the same user in several places, as nslcd's
// (|(memberUid=u)(member=uid=u,...)) does.
func (v *view) userByUID(uid string) (directory.User, error) {
	if id, ok := v.uids[uid]; ok {
		return *v.found[id], nil
	}
	u, err := v.r.UserByUID(uid)
	if err != nil {
		return u, err
	}
	v.remember(u)
	v.uids[uid] = u.ID
	return u, nil
}

// groupEntry builds the entry of g with its member and memberOf values
// left for later (entry.fill); the entry must be completed, or dropped,
// before the view's transaction ends.
func (v *view) groupEntry(g directory.Group, m directory.Members) *entry {
	e := v.b.tree.groupEntry(g, nil, nil, nil, v.only)
	e.members = &m
	e.deferred = []string{"member", "uniqueMember", "memberUid", "memberOf"}
	e.fill = func(e *entry) {
		var members, uids []string
		m.EachUser(func(id string) bool {
			if name, err := v.r.Name(id); v.exists(err) {
				uids = append(uids, name)
				members = append(members, v.b.tree.layout.UserDN(name))
			}
			return true
		})
		members = append(members, v.groupDNs(m.GroupIDs())...)
		e.add("member", members...)
		e.add("uniqueMember", members...)
		e.add("memberUid", uids...)
		parents, err := v.r.DirectGroupIDs(g.ID)
		if err != nil {
			v.failed(err)
			return
		}
		e.add("memberOf", v.groupDNs(parents)...)
	}
	return e
}

// memberUID finds the user a memberUid value names: memberUid matches
// case-exactly, after the insignificant-space rules. Only the indexes are
// read, not the user's record.
func (v *view) memberUID(value string) (string, bool) {
	uid := foldSpaces(value)
	id, err := v.r.UserIDByUID(uid)
	if !v.exists(err) {
		return "", false
	}
	name, err := v.r.Name(id)
	return id, v.exists(err) && name == uid
}

// hasMember decides an equality on member, uniqueMember or memberUid for
// a group entry whose values are not built, from the record's member IDs:
// the asserted DN or uid is resolved once per search instead of every
// member being spelt.
func (v *view) hasMember(e *entry, attr, value string) tristate {
	if v.members == nil {
		v.members = map[string]ref{}
	}
	key := attr + "\x00" + value
	x, seen := v.members[key]
	if !seen {
		if attr == "memberUid" {
			if id, ok := v.memberUID(value); ok {
				x = ref{kindUser, id}
			}
		} else if _, valid := normaliseDN(value); !valid {
			x = ref{kind: kindRootDSE} // not a DN: Undefined
		} else if r, found := v.resolve(value); found {
			x = r
		}
		v.members[key] = x
	}
	switch x.kind {
	case kindRootDSE:
		return isUndefined
	case kindUser:
		return boolState(e.members.HasUser(x.id))
	case kindGroup:
		return boolState(e.members.HasGroup(x.id))
	}
	return isFalse
}

// load builds the entry a ref names; ok is false when it no longer exists.
func (v *view) load(x ref) (*entry, bool, error) {
	switch x.kind {
	case kindUser:
		var u directory.User
		var err error
		if p, ok := v.found[x.id]; ok {
			u = *p
		} else {
			u, err = v.r.User(x.id) // not remembered: a listing loads thousands
		}
		if errors.Is(err, directory.ErrNotFound) {
			return nil, false, nil
		} else if err != nil {
			return nil, false, err
		}
		return v.userEntry(u), true, nil
	case kindGroup:
		g, m, err := v.r.GroupRef(x.id)
		if errors.Is(err, directory.ErrNotFound) {
			return nil, false, nil
		} else if err != nil {
			return nil, false, err
		}
		return v.groupEntry(g, m), true, nil
	case kindPrivateGroup:
		return v.loadPrivateGroup(x.id)
	case kindAccount:
		var found *entry
		err := v.r.BindAccounts(func(a directory.BindAccount) error {
			if a.ID == x.id {
				found = v.b.tree.accountEntry(a)
				return directory.ErrStop
			}
			return nil
		})
		return found, found != nil, err
	}
	for _, c := range v.b.containers {
		if c.dn == x.id {
			return c, true, nil
		}
	}
	return nil, false, nil
}

// resolve finds the record a DN names, among users, groups and bind
// accounts. ok is false for any other DN.
func (v *view) resolve(dn string) (ref, bool) {
	n, ok := normaliseDN(dn)
	if !ok {
		return ref{}, false
	}
	return v.resolveNormal(n)
}

// resolveNormal is resolve for a DN already normalised (normaliseDN).
func (v *view) resolveNormal(n string) (ref, bool) {
	rdn, parent, _ := strings.Cut(n, ",")
	typ, val, _ := strings.Cut(rdn, "=")
	val = unescapeDNValue(val)
	switch {
	case parent == v.b.nPeople && typ == "uid":
		if u, err := v.userByUID(val); v.exists(err) {
			return ref{kindUser, u.ID}, true
		}
	case parent == v.b.nGroups && typ == "cn":
		if g, err := v.r.GroupByCN(val); v.exists(err) {
			return ref{kindGroup, g.ID}, true
		}
		if _, u, err := v.r.PrivateGroupByCN(val); v.exists(err) {
			return ref{kindPrivateGroup, u.ID}, true
		}
	case parent == v.b.nServices && typ == "cn":
		if a, err := v.r.BindAccount(val); v.exists(err) {
			return ref{kindAccount, a.ID}, true
		}
	}
	for _, c := range v.b.containers {
		if c.ndn == n {
			return ref{kindContainer, c.dn}, true
		}
	}
	return ref{}, false
}

// inChain decides (memberOf:1.2.840.113556.1.4.1941:=G) and
// (member:1.2.840.113556.1.4.1941:=M) for entry e.
func (v *view) inChain(e *entry, attr, dn string) tristate {
	target, ok := v.resolve(dn)
	if !ok {
		return isFalse
	}
	if attr == "memberOf" {
		if target.kind != kindGroup || (e.kind != kindUser && e.kind != kindGroup) {
			return isFalse
		}
		return boolState(slices.Contains(v.effectiveGroups(e.id), target.id))
	}
	if e.kind != kindGroup {
		return isFalse
	}
	return boolState(slices.Contains(v.effectiveGroups(target.id), e.id))
}

func (v *view) effectiveGroups(id string) []string {
	if gs, ok := v.chain[id]; ok {
		return gs
	}
	gs, err := v.r.EffectiveGroupIDs(id)
	v.exists(err)
	if v.chain == nil {
		v.chain = map[string][]string{}
	}
	v.chain[id] = gs
	return gs
}

func boolState(b bool) tristate {
	if b {
		return isTrue
	}
	return isFalse
}

// Which kinds of entry can match an objectClass equality.
var kindClasses = map[entryKind][]string{
	kindUser:         {"top", "person", "organizationalperson", "inetorgperson", "posixaccount", "shadowaccount", "ldappublickey", "sambasamaccount"},
	kindGroup:        {"top", "groupofnames", "groupofuniquenames", "posixgroup", "sambagroupmapping"},
	kindPrivateGroup: {"top", "groupofnames", "groupofuniquenames", "posixgroup", "sambagroupmapping"},
	kindAccount:      {"top", "applicationprocess", "simplesecurityobject"},
}

// candidates returns the IDs of records of kind that can match f, from an
// index, or all=true when only a scan will do.
func (v *view) candidates(kind entryKind, f *Filter) (ids []string, all bool) {
	switch f.Kind {
	case FilterAnd:
		for i := range f.Children {
			if ids, all := v.candidates(kind, &f.Children[i]); !all {
				return ids, false
			}
		}
		return nil, true
	case FilterOr:
		var union []string
		for i := range f.Children {
			ids, all := v.candidates(kind, &f.Children[i])
			if all {
				return nil, true
			}
			union = append(union, ids...)
		}
		slices.Sort(union)
		return slices.Compact(union), false
	case FilterEqual:
		return v.equalityCandidates(kind, f)
	case FilterSubstrings:
		return v.substringCandidates(kind, f)
	case FilterExtensible:
		if f.Rule != inChainRule {
			return nil, true
		}
		at := theSchema.lookup(f.Attr)
		target, ok := v.resolve(f.Value)
		switch {
		case at == nil:
			return nil, false // Undefined for every entry
		case !ok:
			return nil, false
		case at.names[0] == "memberOf" && target.kind == kindGroup:
			if kind == kindUser {
				ids, err := v.r.EffectiveUserIDs(target.id)
				v.exists(err)
				return ids, false
			}
			return nil, true
		case (at.names[0] == "member" || at.names[0] == "uniqueMember") && kind == kindGroup:
			return v.effectiveGroups(target.id), false
		case kind == kindPrivateGroup:
			return nil, false // a private group is in no chain of groups
		}
		return nil, kind != kindUser && kind != kindGroup
	}
	return nil, true
}

// equalityCandidates is candidates for (attr=value): objectClass answers
// from the kinds that have the class, an attribute the kind never has
// matches nothing, and the rest come from the index equalityIndexes names,
// or from a scan.
func (v *view) equalityCandidates(kind entryKind, f *Filter) ([]string, bool) {
	at := theSchema.lookup(f.Attr)
	if at == nil {
		return nil, false // Undefined: nothing matches
	}
	name := at.names[0]
	if name == "objectClass" {
		return nil, slices.Contains(kindClasses[kind], strings.ToLower(f.Value))
	}
	if attrs, ok := v.b.kindAttrs[kind]; ok && !attrs[name] {
		return nil, false // (uid=x) never matches a group: no need to scan them
	}
	if kind == kindPrivateGroup {
		return v.privateGroupCandidates(name, f.Value)
	}
	if lookup, ok := equalityIndexes[kind][name]; ok {
		return lookup(v, f.Value)
	}
	return nil, true
}

// An indexLookup is candidates for (attr=value) from one index. A value
// the index cannot hold, or a lookup that finds nothing, gives no
// candidates.
type indexLookup func(v *view, value string) (ids []string, all bool)

// equalityIndexes are, for each kind of entry, the attributes whose
// equality an index answers.
var equalityIndexes = map[entryKind]map[string]indexLookup{
	kindUser: {
		"uid":       func(v *view, s string) ([]string, bool) { return v.foundUser(v.userByUID(s)) },
		"mail":      func(v *view, s string) ([]string, bool) { return v.foundUser(v.r.UserByMail(s)) },
		"uidNumber": byNumber(func(v *view, n int) ([]string, bool) { return v.foundUser(v.r.UserByUIDNumber(n)) }),
		"gidNumber": byNumber((*view).usersByGIDNumber),
		"entryUUID": func(v *view, s string) ([]string, bool) { return v.foundUser(v.r.User(strings.ToLower(s))) },
		"cn":        (*view).usersByCN,
		"memberOf":  directMembers(directory.Members.UserIDs),
	},
	kindGroup: {
		"cn":           func(v *view, s string) ([]string, bool) { return v.oneID(v.r.GroupIDByCN(s)) },
		"gidNumber":    byNumber(func(v *view, n int) ([]string, bool) { return v.oneID(v.r.GroupIDByGIDNumber(n)) }),
		"entryUUID":    (*view).groupByUUID,
		"member":       (*view).groupsWithMember,
		"uniqueMember": (*view).groupsWithMember,
		"memberUid":    (*view).groupsWithMemberUID,
		"memberOf":     directMembers(directory.Members.GroupIDs),
	},
}

// byNumber reads an integer assertion before the lookup; one that is not a
// number matches nothing.
func byNumber(lookup func(v *view, n int) ([]string, bool)) indexLookup {
	return func(v *view, s string) ([]string, bool) {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return nil, false
		}
		return lookup(v, n)
	}
}

func (v *view) oneID(id string, err error) ([]string, bool) {
	if !v.exists(err) {
		return nil, false
	}
	return []string{id}, false
}

// foundUser is the one candidate a user lookup found, remembered so that
// loading it does not read the record again.
func (v *view) foundUser(u directory.User, err error) ([]string, bool) {
	if !v.exists(err) {
		return nil, false
	}
	v.remember(u)
	return []string{u.ID}, false
}

// user reads the user with this ID once per view: nslcd's membership
// search names the same user as memberUid and as member, and each is
// looked up among private groups too.
func (v *view) user(id string) (directory.User, error) {
	if u, ok := v.found[id]; ok {
		return *u, nil
	}
	u, err := v.r.User(id)
	if err == nil {
		v.remember(u)
	}
	return u, err
}

func (v *view) remember(u directory.User) {
	if v.found == nil {
		v.found, v.uids = map[string]*directory.User{}, map[string]string{}
	}
	v.found[u.ID] = &u
}

func (v *view) usersByGIDNumber(n int) ([]string, bool) {
	var ids []string
	v.exists(v.r.UsersByGIDNumber(n, func(u directory.User) error { ids = append(ids, u.ID); return nil }))
	return ids, false
}

// usersByCN reads the common-name index, which folds case and spaces as
// caseIgnoreMatch does, so it holds every user the filter can match.
func (v *view) usersByCN(cn string) ([]string, bool) {
	var ids []string
	err := v.r.UsersByCommonName(cn, func(u directory.User) error {
		v.remember(u)
		ids = append(ids, u.ID)
		return nil
	})
	v.exists(err)
	return ids, false
}

// directMembers answers (memberOf=G) from G's direct members of one kind.
func directMembers(of func(directory.Members) []string) indexLookup {
	return func(v *view, dn string) ([]string, bool) {
		target, ok := v.resolve(dn)
		if !ok || target.kind != kindGroup {
			return nil, false
		}
		_, m, err := v.r.GroupRef(target.id)
		if !v.exists(err) {
			return nil, false
		}
		return of(m), false
	}
}

func (v *view) groupByUUID(id string) ([]string, bool) {
	g, _, err := v.r.GroupRef(strings.ToLower(id))
	return v.oneID(g.ID, err)
}

func (v *view) groupsWithMember(dn string) ([]string, bool) {
	target, ok := v.resolve(dn)
	if !ok {
		return nil, false
	}
	ids, err := v.r.DirectGroupIDs(target.id)
	v.exists(err)
	return ids, false
}

func (v *view) groupsWithMemberUID(uid string) ([]string, bool) {
	id, ok := v.memberUID(uid)
	if !ok {
		return nil, false
	}
	ids, err := v.r.DirectGroupIDs(id)
	v.exists(err)
	return ids, false
}

// cursor is where a walk stopped, so that a walk in a later transaction
// goes on after the last entry visited instead of starting again.
type cursor struct {
	stage int    // 0 for the fixed entries, then one per kind of record (walkKinds)
	fixed int    // fixed entries visited
	key   string // when the stage scans: the sort key of the last record visited
	// The stage's candidates from an index, read once for the whole
	// search: reading them again for every batch would cost a large
	// search time in the square of its size.
	listed bool
	ids    []string // sorted; nil with all
	all    bool     // no index answers: the stage scans every record
	next   int      // candidates visited
}

// advance moves the cursor to the start of the next stage.
func (at *cursor) advance() { *at = cursor{stage: at.stage + 1} }

// walkKinds are the kinds of record a walk visits after the fixed
// entries, in order, with the container that holds them.
var walkKinds = []struct {
	kind   entryKind
	parent func(b *Backend) string
}{
	{kindUser, func(b *Backend) string { return b.nPeople }},
	{kindGroup, func(b *Backend) string { return b.nGroups }},
	{kindPrivateGroup, func(b *Backend) string { return b.nGroups }},
	{kindAccount, func(b *Backend) string { return b.nServices }},
}

// walk calls fn for every entry in scope of base that could match f, each
// once, in a stable order, starting after the entry at names. at follows
// the walk, so that after fn returns an error the walk can go on from the
// next entry in another transaction.
func (v *view) walk(base ref, baseN string, scope int, f *Filter, at *cursor, fn func(*entry) error) error {
	if at.stage == 0 {
		if err := v.walkFixed(base, baseN, scope, at, fn); err != nil {
			return err
		}
		at.advance()
	}
	if base.kind != kindContainer || scope == scopeBase {
		return nil // users, groups and bind accounts are leaves
	}
	for ; at.stage <= len(walkKinds); at.advance() {
		k := walkKinds[at.stage-1]
		if !inScope(scope, baseN, k.parent(v.b)) {
			continue
		}
		if err := v.walkKind(k.kind, f, at, fn); err != nil {
			return err
		}
	}
	return nil
}

// inScope reports whether entries under the container parentN are in the
// scope of a search.
func inScope(scope int, baseN, parentN string) bool {
	switch scope {
	case scopeBase:
		return false
	case scopeOne:
		return parentN == baseN
	}
	return parentN == baseN || strings.HasSuffix(parentN, ","+baseN)
}

// walkFixed visits the base entry, when in scope, and the containers
// under it.
func (v *view) walkFixed(base ref, baseN string, scope int, at *cursor, fn func(*entry) error) error {
	var buf [8]ref
	refs := buf[:0]
	if scope != scopeOne {
		refs = append(refs, base)
	}
	if base.kind == kindContainer && scope != scopeBase {
		for _, c := range v.b.containers[1:] {
			if parent := c.ndn[strings.IndexByte(c.ndn, ',')+1:]; inScope(scope, baseN, parent) {
				refs = append(refs, ref{kindContainer, c.dn})
			}
		}
	}
	for ; at.fixed < len(refs); at.fixed++ {
		if err := v.visit(refs[at.fixed], fn); err != nil {
			at.fixed++
			return err
		}
	}
	return nil
}

func (v *view) visit(x ref, fn func(*entry) error) error {
	e, ok, err := v.load(x)
	if err != nil || !ok {
		return err
	}
	return fn(e)
}

// walkKind visits the records of one kind that could match f: the
// candidates an index gives, or every record in the order of its name.
func (v *view) walkKind(kind entryKind, f *Filter, at *cursor, fn func(*entry) error) error {
	if !at.listed {
		at.ids, at.all = v.candidates(kind, f)
		at.ids = v.inNameOrder(kind, at.ids)
		at.listed = true
	}
	if !at.all {
		for at.next < len(at.ids) {
			id := at.ids[at.next]
			at.next++
			if err := v.visit(ref{kind, id}, fn); err != nil {
				return err
			}
		}
		return nil
	}
	switch kind {
	case kindUser:
		return v.r.Users(at.key, func(u directory.User) error {
			at.key = u.UID
			return fn(v.userEntry(u))
		})
	case kindGroup:
		return v.r.GroupRefs(at.key, func(g directory.Group, m directory.Members) error {
			at.key = g.CN
			return fn(v.groupEntry(g, m))
		})
	case kindPrivateGroup:
		return v.privateGroups(at, fn)
	case kindAccount:
		return v.r.BindAccounts(func(a directory.BindAccount) error {
			if key := strings.ToLower(a.Name); key > at.key {
				at.key = key
				return fn(v.b.tree.accountEntry(a))
			}
			return nil
		})
	}
	return nil
}

func hexString(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}

// unescapeDNValue undoes RFC 4514 escaping of one attribute value.
func unescapeDNValue(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	dn, err := ldap.ParseDN("x=" + v)
	if err != nil || len(dn.RDNs) != 1 {
		return v
	}
	return dn.RDNs[0].Attributes[0].Value
}
