package ldapserver

import (
	"context"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	ldap "github.com/go-ldap/ldap/v3"

	"github.com/atrium-dir/atrium/directory"
	"github.com/atrium-dir/atrium/directory/password"
)

// splitDN returns the normalised parent and the RDN type and value of dn.
func splitDN(dn string) (typ, val, parent string, valid bool) {
	n, valid := normaliseDN(dn)
	if !valid || n == "" {
		return "", "", "", false
	}
	rdn, parent, _ := strings.Cut(n, ",")
	typ, val, _ = strings.Cut(rdn, "=")
	// Keep the value's case as the client sent it.
	if parsed, err := ldap.ParseDN(dn); err == nil && len(parsed.RDNs) > 0 && len(parsed.RDNs[0].Attributes) == 1 {
		val = parsed.RDNs[0].Attributes[0].Value
	}
	return typ, val, parent, true
}

// add creates a user under ou=people or a group under ou=groups.
func (b *Backend) add(ctx context.Context, w *who, dn string, attrs []change) opResult {
	if !canWrite(w) {
		return fail(ldap.LDAPResultInsufficientAccessRights, "insufficient access to add entries")
	}
	typ, val, parent, valid := splitDN(dn)
	if !valid {
		return fail(ldap.LDAPResultInvalidDNSyntax, "invalid DN syntax")
	}
	for i := range attrs {
		attrs[i].op = ldap.ReplaceAttribute
	}
	switch {
	case parent == b.nPeople && typ == "uid":
		return b.addUser(ctx, w, val, attrs)
	case parent == b.nGroups && typ == "cn":
		return b.addGroup(ctx, w, val, attrs)
	}
	return fail(ldap.LDAPResultUnwillingToPerform, "add users as uid=NAME,"+b.tree.layout.PeopleDN()+" and groups as cn=NAME,"+b.tree.layout.GroupsDN())
}

// addUser creates a user, with its password if one is given, in one
// transaction: a refused password leaves no user behind.
func (b *Backend) addUser(ctx context.Context, w *who, uid string, attrs []change) opResult {
	u := directory.User{UID: uid}
	var pw *change
	var rest []change
	for i, a := range attrs {
		switch canonicalAttr(a.attr) {
		case "userPassword":
			pw = &attrs[i]
		case "uid":
			if len(a.values) != 1 || !strings.EqualFold(a.values[0], uid) {
				return fail(ldap.LDAPResultNotAllowedOnRDN, "uid must match the DN")
			}
		default:
			rest = append(rest, a)
		}
	}
	if err := applyUserChanges(&u, rest); err != nil {
		return b.modifyError(err)
	}
	var p directory.Password
	if pw != nil {
		var res opResult
		if p, res = b.newPassword(w, *pw); res.code != ldap.LDAPResultSuccess {
			return res
		}
	}
	err := b.dir.Batch(ctx, func(batch *directory.Batch) error {
		created, err := batch.CreateUser(u)
		if err != nil || pw == nil {
			return err
		}
		return batch.SetPassword(created.ID, p)
	})
	if err != nil {
		return b.errorResult("add", err)
	}
	return ok()
}

// addGroup creates a group with its members in one transaction: a member
// that does not exist leaves no group behind.
func (b *Backend) addGroup(ctx context.Context, w *who, cn string, attrs []change) opResult {
	var rest []change
	for _, a := range attrs {
		if canonicalAttr(a.attr) != "cn" {
			rest = append(rest, a)
		}
	}
	gc, err := b.resolveGroupChanges(ctx, w, rest)
	if err != nil {
		return b.modifyError(err)
	}
	g := directory.Group{CN: cn}
	if err := gc.apply(&g); err != nil {
		return b.modifyError(err)
	}
	if _, err := b.dir.CreateGroup(ctx, g); err != nil {
		return b.errorResult("add", err)
	}
	return ok()
}

func (b *Backend) delete(ctx context.Context, w *who, dn string) opResult {
	if !canWrite(w) {
		return fail(ldap.LDAPResultInsufficientAccessRights, "insufficient access to delete entries")
	}
	e, res := b.lookup(ctx, w, dn)
	if e == nil {
		return res
	}
	var err error
	switch e.kind {
	case kindUser:
		err = b.dir.DeleteUser(ctx, e.get("uid")[0])
	case kindGroup:
		err = b.dir.DeleteGroup(ctx, e.get("cn")[0])
	case kindContainer:
		return fail(ldap.LDAPResultNotAllowedOnNonLeaf, "this entry is part of Atrium's tree")
	case kindPrivateGroup:
		return fail(ldap.LDAPResultUnwillingToPerform, "a user's private group goes with the user: give the user another primary group (gidNumber) instead")
	default:
		return fail(ldap.LDAPResultUnwillingToPerform, "manage bind accounts with the atrium command")
	}
	if err != nil {
		return b.errorResult("delete", err)
	}
	return ok()
}

// modifyDN renames a user or group in place.
func (b *Backend) modifyDN(ctx context.Context, w *who, dn, newRDN, newSuperior string) opResult {
	if !canWrite(w) {
		return fail(ldap.LDAPResultInsufficientAccessRights, "insufficient access to rename entries")
	}
	e, res := b.lookup(ctx, w, dn)
	if e == nil {
		return res
	}
	typ, val, _, valid := splitDN(newRDN)
	if !valid {
		return fail(ldap.LDAPResultInvalidDNSyntax, "invalid new RDN")
	}
	_, _, parent, _ := splitDN(e.dn)
	if newSuperior != "" {
		if n, valid := normaliseDN(newSuperior); !valid || n != parent {
			return fail(ldap.LDAPResultUnwillingToPerform, "entries cannot move to another parent")
		}
	}
	var err error
	switch {
	case e.kind == kindUser && typ == "uid":
		_, err = b.dir.RenameUser(ctx, e.get("uid")[0], val)
	case e.kind == kindGroup && typ == "cn":
		_, err = b.dir.UpdateGroup(ctx, e.get("cn")[0], func(g *directory.Group) error { g.CN = val; return nil })
	default:
		return fail(ldap.LDAPResultUnwillingToPerform, "only users (uid=) and groups (cn=) can be renamed")
	}
	if err != nil {
		return b.errorResult("modrdn", err)
	}
	return ok()
}

// passwordModify implements RFC 3062. A user changes their own password
// (checking the old one when it is sent); an admin bind account changes
// anyone's. Without a new password one is generated and returned.
func (b *Backend) passwordModify(ctx context.Context, w *who, remote string, value []byte) (opResult, []byte) {
	var identity, oldPW, newPW string
	var hasNew bool
	if len(value) > 0 {
		p, err := ber.DecodePacketErr(value)
		if err != nil || p.ClassType != ber.ClassUniversal || p.Tag != ber.TagSequence {
			return fail(ldap.LDAPResultProtocolError, "malformed password modify request"), nil
		}
		for _, c := range p.Children {
			if c.ClassType != ber.ClassContext {
				return fail(ldap.LDAPResultProtocolError, "malformed password modify request"), nil
			}
			v := string(c.Data.Bytes())
			switch c.Tag {
			case 0:
				identity = v
			case 1:
				oldPW = v
			case 2:
				newPW, hasNew = v, true
			}
		}
	}
	if w.anon {
		return fail(ldap.LDAPResultUnwillingToPerform, "bind first to change a password"), nil
	}
	target := w.dn
	if identity != "" {
		target = strings.TrimPrefix(identity, "dn:")
		if uid, isUID := strings.CutPrefix(identity, "u:"); isUID {
			target = b.tree.layout.UserDN(uid)
		}
	}
	e, res := b.lookup(ctx, w, target)
	if e == nil {
		return res, nil
	}
	if e.kind != kindUser || (e.id != w.id && !canWrite(w)) {
		return fail(ldap.LDAPResultInsufficientAccessRights, "insufficient access to change this password"), nil
	}
	uid := e.get("uid")[0]
	if oldPW != "" && e.id == w.id {
		if _, err := b.dir.Authenticate(ctx, directory.Login{Name: uid, Password: oldPW, Remote: remote, Service: "ldap"}); err != nil {
			return fail(ldap.LDAPResultInvalidCredentials, "the old password is wrong"), nil
		}
	}
	if !hasNew || newPW == "" {
		newPW = password.Generate(20)
		hasNew = false
	}
	set := b.dir.SetPassword
	if e.id == w.id && hasNew {
		set = b.dir.SetOwnPassword // chosen by the user: not their own names
	}
	if err := set(ctx, uid, newPW); err != nil {
		return b.errorResult("passwd", err), nil
	}
	if hasNew {
		return ok(), nil
	}
	seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "PasswdModifyResponseValue")
	seq.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, newPW, "genPasswd"))
	return ok(), seq.Bytes()
}

// whoAmI implements RFC 4532.
func whoAmI(w *who) []byte {
	if w.anon {
		return []byte{}
	}
	return []byte("dn:" + w.dn)
}
