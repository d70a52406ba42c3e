package ldapserver

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

// bind checks a simple bind. An empty name and password is an anonymous
// bind; a name with an empty password (an "unauthenticated" bind, RFC 4513
// 5.1.2) is refused, so it can never pass for a login.
func (b *Backend) bind(ctx context.Context, remote, name string, pw []byte) (*who, opResult) {
	switch {
	case name == "" && len(pw) == 0:
		return anonymous, ok()
	case len(pw) == 0:
		return anonymous, fail(ldap.LDAPResultUnwillingToPerform, "unauthenticated bind (DN with no password) disallowed")
	}
	login := directory.Login{Password: string(pw), Remote: remote, Service: "ldap"}
	n, valid := normaliseDN(name)
	rdn, parent, _ := strings.Cut(n, ",")
	typ, val, _ := strings.Cut(rdn, "=")
	switch {
	case valid && parent == b.nPeople && typ == "uid":
		login.Kind, login.Name, login.AppPasswords = directory.KindUser, unescapeDNValue(val), true
	case valid && parent == b.nServices && typ == "cn":
		login.Kind, login.Name = directory.KindBindAccount, unescapeDNValue(val)
	default:
		// Not a DN that can bind: count it like a wrong password, so probing
		// names costs the same as guessing passwords.
		if err := b.dir.AllowAttempt(remote, "dn:"+n); err == nil {
			b.dir.RecordAttempt(remote, "dn:"+n, false)
		}
		b.dir.Audit(directory.AuditEvent{Kind: "login", Subject: name, Remote: remote, Service: "ldap", Result: directory.ResultNoSuchUser})
		return anonymous, fail(ldap.LDAPResultInvalidCredentials, "invalid credentials")
	}
	p, err := b.dir.Authenticate(ctx, login)
	if err != nil {
		if !errors.Is(err, directory.ErrBadCredentials) && !errors.Is(err, directory.ErrThrottled) {
			return anonymous, b.errorResult("bind", err)
		}
		return anonymous, fail(ldap.LDAPResultInvalidCredentials, "invalid credentials")
	}
	w := &who{kind: p.Kind, id: p.ID(), account: p.Account, remote: remote}
	if p.Kind == directory.KindUser {
		w.dn = b.tree.layout.UserDN(p.User.UID)
	} else {
		w.dn = b.tree.layout.BindAccountDN(p.Account.Name)
	}
	return w, ok()
}

// lookup loads the entry dn names, for operations on one entry.
func (b *Backend) lookup(ctx context.Context, w *who, dn string) (*entry, opResult) {
	var e *entry
	res := ok()
	err := b.dir.View(ctx, func(ctx context.Context, r directory.Reader) error {
		v := &view{b: b, r: r, who: w, ntHash: canReadNTHash(w), names: map[string]string{}, chain: map[string][]string{}}
		x, found := v.resolve(dn)
		if !found && v.err != nil {
			return v.err
		} else if !found {
			n, _ := normaliseDN(dn)
			res = fail(ldap.LDAPResultNoSuchObject, "no such entry")
			res.matched = b.nearestContainer(n)
			return nil
		}
		var err error
		e, _, err = v.load(x)
		if e != nil {
			e.complete() // the values need the transaction
		}
		if err == nil {
			err = v.err
		}
		return err
	})
	if err != nil {
		return nil, b.errorResult("lookup", err)
	}
	if res.code == ldap.LDAPResultSuccess && !b.access.canRead(w, e, b.tree.layout.Base) {
		return nil, fail(ldap.LDAPResultInsufficientAccessRights, "insufficient access")
	}
	return e, res
}

func (b *Backend) compare(ctx context.Context, w *who, dn, attr, value string) opResult {
	if _, valid := normaliseDN(dn); !valid {
		return fail(ldap.LDAPResultInvalidDNSyntax, "invalid DN syntax")
	}
	e, res := b.lookup(ctx, w, dn)
	if e == nil {
		return res
	}
	at := theSchema.lookup(attr)
	switch {
	case at == nil:
		return fail(ldap.LDAPResultUndefinedAttributeType, "unknown attribute type")
	case at.names[0] == "userPassword":
		return fail(ldap.LDAPResultInsufficientAccessRights, "userPassword cannot be compared")
	case len(e.get(at.names[0])) == 0:
		return fail(ldap.LDAPResultNoSuchAttribute, "no such attribute")
	}
	ev := &evaluator{}
	if ev.eval(&Filter{Kind: FilterEqual, Attr: attr, Value: value}, e) == isTrue {
		return opResult{code: ldap.LDAPResultCompareTrue}
	}
	return opResult{code: ldap.LDAPResultCompareFalse}
}

// change is one modification of a Modify request.
type change struct {
	op     int // ldap.AddAttribute, DeleteAttribute, ReplaceAttribute, IncrementAttribute
	attr   string
	values []string
}

func canonicalAttr(name string) string {
	if at := theSchema.lookup(name); at != nil {
		return at.names[0]
	}
	return name
}

// modify applies changes to one user or group. An admin bind account may
// change anything Atrium stores; a samba one a user's wrong-password
// counters; a user may only set their own password.
func (b *Backend) modify(ctx context.Context, w *who, dn string, changes []change) opResult {
	e, res := b.lookup(ctx, w, dn)
	if e == nil {
		return res
	}
	if e.kind == kindUser && b.tree.samba != nil && w.isAccount(directory.RightSamba) && isSambaReport(changes) {
		return b.reportSMBFailures(ctx, w, e, changes)
	}
	var pw *change
	var rest []change
	for i, c := range changes {
		if canonicalAttr(c.attr) == "userPassword" {
			pw = &changes[i]
		} else {
			rest = append(rest, c)
		}
	}
	if !canWrite(w) && !(e.id == w.id && pw != nil && len(rest) == 0) {
		return fail(ldap.LDAPResultInsufficientAccessRights, "insufficient access to change this entry")
	}
	switch e.kind {
	case kindUser:
		return b.modifyUser(ctx, w, e, rest, pw)
	case kindGroup:
		if pw != nil {
			return fail(ldap.LDAPResultUnwillingToPerform, "groups have no password")
		}
		return b.modifyGroup(ctx, w, e, rest)
	}
	return fail(ldap.LDAPResultUnwillingToPerform, "this entry is managed by Atrium itself")
}

// modifyUser changes a user's attributes and password in one transaction,
// so a refused password leaves the attributes as they were.
func (b *Backend) modifyUser(ctx context.Context, w *who, e *entry, changes []change, pw *change) opResult {
	var p directory.Password
	if pw != nil {
		var res opResult
		if p, res = b.newPassword(w, *pw); res.code != ldap.LDAPResultSuccess {
			return res
		}
		if res = b.checkOwnPassword(ctx, w, e, *pw); res.code != ldap.LDAPResultSuccess {
			return res
		}
	}
	err := b.dir.Batch(ctx, func(batch *directory.Batch) error {
		if len(changes) > 0 {
			if _, err := batch.UpdateUser(e.get("uid")[0], func(u *directory.User) error { return applyUserChanges(u, changes) }); err != nil {
				return err
			}
		}
		if pw != nil {
			return batch.SetPassword(e.id, p)
		}
		return nil
	})
	if err != nil {
		return b.modifyError(err)
	}
	return ok()
}

// errChangeRefused carries an LDAP result code out of an updater function.
type errChangeRefused struct {
	code uint16
	msg  string
}

func (e *errChangeRefused) Error() string { return e.msg }

func refuse(code uint16, msg string) error { return &errChangeRefused{code, msg} }

func (b *Backend) modifyError(err error) opResult {
	var r *errChangeRefused
	if errors.As(err, &r) {
		return fail(r.code, r.msg)
	}
	return b.errorResult("modify", err)
}

// newPassword checks and hashes the one userPassword value of c, before
// any transaction starts. The directory decides what w may give: a hash
// only when w is an admin.
func (b *Backend) newPassword(w *who, c change) (directory.Password, opResult) {
	if c.op == ldap.DeleteAttribute || len(c.values) != 1 {
		return directory.Password{}, fail(ldap.LDAPResultUnwillingToPerform, "replace userPassword with exactly one value")
	}
	p, err := b.dir.ClientPassword(c.values[0], canWrite(w))
	if err != nil {
		return p, b.errorResult("modify", err)
	}
	return p, ok()
}

// checkOwnPassword applies the rule for a password users choose for
// themselves when w changes its own userPassword in clear.
func (b *Backend) checkOwnPassword(ctx context.Context, w *who, e *entry, c change) opResult {
	if e.id != w.id || password.HasScheme(c.values[0]) {
		return ok()
	}
	u, err := b.dir.User(ctx, e.get("uid")[0])
	if err == nil {
		err = b.dir.CheckOwnPassword(c.values[0], u)
	}
	if err != nil {
		return b.errorResult("modify", err)
	}
	return ok()
}

// singleValue applies one change to a single-valued string attribute.
func singleValue(c change, cur *string) error {
	switch {
	case c.op == ldap.DeleteAttribute:
		*cur = ""
	case len(c.values) != 1:
		return refuse(ldap.LDAPResultConstraintViolation, c.attr+" takes exactly one value")
	case c.op == ldap.AddAttribute && *cur != "":
		return refuse(ldap.LDAPResultAttributeOrValueExists, c.attr+" already has a value")
	default:
		*cur = c.values[0]
	}
	return nil
}

func numberValue(c change, cur *int) error {
	if c.op == ldap.IncrementAttribute && len(c.values) == 1 {
		n, err := strconv.Atoi(c.values[0])
		if err != nil {
			return refuse(ldap.LDAPResultInvalidAttributeSyntax, c.attr+" must be a number")
		}
		*cur += n
		return nil
	}
	s := ""
	if err := singleValue(c, &s); err != nil {
		return err
	}
	if c.op == ldap.DeleteAttribute {
		return refuse(ldap.LDAPResultObjectClassViolation, c.attr+" is required")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return refuse(ldap.LDAPResultInvalidAttributeSyntax, c.attr+" must be a non-negative number")
	}
	*cur = n
	return nil
}

// multiValue applies one change to a multi-valued attribute.
func multiValue(c change, cur []string, equal func(a, b string) bool) []string {
	switch c.op {
	case ldap.ReplaceAttribute:
		return slices.Clone(c.values)
	case ldap.DeleteAttribute:
		if len(c.values) == 0 {
			return nil
		}
		return slices.DeleteFunc(cur, func(v string) bool {
			return slices.ContainsFunc(c.values, func(d string) bool { return equal(v, d) })
		})
	}
	for _, v := range c.values {
		if !slices.ContainsFunc(cur, func(x string) bool { return equal(x, v) }) {
			cur = append(cur, v)
		}
	}
	return cur
}

// objectClassChange accepts changes that name only classes Atrium already
// serves for the entry (directory editors send these), and refuses others.
func objectClassChange(c change, kind entryKind) error {
	for _, v := range c.values {
		if !slices.Contains(kindClasses[kind], strings.ToLower(v)) {
			return refuse(ldap.LDAPResultObjectClassViolation, "object class "+v+" is not served by Atrium")
		}
	}
	return nil
}

func applyUserChanges(u *directory.User, changes []change) error {
	for _, c := range changes {
		var err error
		switch canonicalAttr(c.attr) {
		case "objectClass":
			err = objectClassChange(c, kindUser)
		case "mail":
			err = singleValue(c, &u.Mail)
		case "givenName":
			err = singleValue(c, &u.GivenName)
		case "sn":
			err = singleValue(c, &u.Surname)
		case "cn", "displayName", "gecos":
			err = singleValue(c, &u.DisplayName)
		case "homeDirectory":
			err = singleValue(c, &u.HomeDirectory)
		case "loginShell":
			err = singleValue(c, &u.LoginShell)
		case "uidNumber":
			err = numberValue(c, &u.UIDNumber)
		case "gidNumber":
			err = numberValue(c, &u.GIDNumber)
		case "sshPublicKey":
			u.SSHKeys = multiValue(c, u.SSHKeys, func(a, b string) bool { return a == b })
		case "uid":
			err = refuse(ldap.LDAPResultNotAllowedOnRDN, "rename a user with ModifyDN")
		default:
			err = refuse(ldap.LDAPResultUnwillingToPerform, "attribute "+c.attr+" is not stored by Atrium")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (b *Backend) modifyGroup(ctx context.Context, w *who, e *entry, changes []change) opResult {
	gc, err := b.resolveGroupChanges(ctx, w, changes)
	if err == nil {
		_, err = b.dir.UpdateGroup(ctx, e.get("cn")[0], gc.apply)
	}
	if err != nil {
		return b.modifyError(err)
	}
	return ok()
}

// groupChanges are the changes of a Modify or Add on a group, with member
// DNs and uids resolved to records.
type groupChanges struct {
	members []memberChange
	other   []change
}

type memberChange struct {
	change
	refs []ref
}

// resolveGroupChanges resolves the members named by changes. The
// directory checks again, in the transaction that applies them, that they
// still exist.
func (b *Backend) resolveGroupChanges(ctx context.Context, w *who, changes []change) (groupChanges, error) {
	var gc groupChanges
	err := b.dir.View(ctx, func(ctx context.Context, r directory.Reader) error {
		v := &view{b: b, r: r, who: w, names: map[string]string{}, chain: map[string][]string{}}
		for _, c := range changes {
			name := canonicalAttr(c.attr)
			if name != "member" && name != "uniqueMember" && name != "memberUid" {
				gc.other = append(gc.other, c)
				continue
			}
			mc := memberChange{change: c}
			for _, val := range c.values {
				var x ref
				found := false
				if name == "memberUid" {
					if u, err := r.UserByUID(val); v.exists(err) {
						x, found = ref{kindUser, u.ID}, true
					}
				} else {
					x, found = v.resolve(val)
				}
				if v.err != nil {
					return v.err
				}
				if !found || (x.kind != kindUser && x.kind != kindGroup) {
					if c.op == ldap.DeleteAttribute {
						continue
					}
					return refuse(ldap.LDAPResultConstraintViolation, "member "+val+" does not exist")
				}
				mc.refs = append(mc.refs, x)
			}
			gc.members = append(gc.members, mc)
		}
		return nil
	})
	return gc, err
}

// apply makes the changes to g.
func (gc groupChanges) apply(g *directory.Group) error {
	for _, c := range gc.other {
		var err error
		switch canonicalAttr(c.attr) {
		case "objectClass":
			err = objectClassChange(c, kindGroup)
		case "description":
			err = singleValue(c, &g.Description)
		case "gidNumber":
			err = numberValue(c, &g.GIDNumber)
		case "cn":
			err = refuse(ldap.LDAPResultNotAllowedOnRDN, "rename a group with ModifyDN")
		default:
			err = refuse(ldap.LDAPResultUnwillingToPerform, "attribute "+c.attr+" is not stored by Atrium")
		}
		if err != nil {
			return err
		}
	}
	for _, mc := range gc.members {
		mc.apply(g)
	}
	return nil
}

func (mc memberChange) apply(g *directory.Group) {
	usersOnly := canonicalAttr(mc.attr) == "memberUid"
	switch {
	case mc.op == ldap.ReplaceAttribute || (mc.op == ldap.DeleteAttribute && len(mc.values) == 0):
		g.Users = nil
		if !usersOnly {
			g.Groups = nil
		}
		if mc.op == ldap.DeleteAttribute {
			return
		}
		fallthrough
	case mc.op == ldap.AddAttribute:
		for _, x := range mc.refs {
			list := &g.Users
			if x.kind == kindGroup {
				list = &g.Groups
			}
			if !slices.Contains(*list, x.id) {
				*list = append(*list, x.id)
			}
		}
	case mc.op == ldap.DeleteAttribute:
		for _, x := range mc.refs {
			g.Users = slices.DeleteFunc(g.Users, func(id string) bool { return id == x.id })
			g.Groups = slices.DeleteFunc(g.Groups, func(id string) bool { return id == x.id })
		}
	}
}
