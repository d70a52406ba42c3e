package ldapserver

import (
	"github.com/atrium-dir/atrium/directory"
)

// AnonymousRead is what a client that has not bound may read besides the
// root DSE and the schema (the setting ldap.anonymous).
type AnonymousRead string

const (
	AnonymousNone AnonymousRead = directory.AnonymousNone
	AnonymousBase AnonymousRead = directory.AnonymousBase // the base entry (Synology's check reads it)
	AnonymousTree AnonymousRead = directory.AnonymousTree // every non-secret attribute of every entry
)

// UserRead is what a user bound as themself may read (ldap.user_read).
type UserRead string

const (
	UserReadAll  UserRead = directory.UserReadAll  // people and groups, non-secret attributes
	UserReadSelf UserRead = directory.UserReadSelf // their own entry only
)

// Access is the access policy of the LDAP front end at one moment.
type Access struct {
	Anonymous AnonymousRead
	Users     UserRead
}

// accessRules decide with the directory's settings as they are at each
// check, so that an admin's change applies at once, to connections
// already bound too.
type accessRules struct{ dir *directory.Directory }

func (a accessRules) now() Access {
	anon, users := a.dir.LDAPAccess()
	return Access{Anonymous: AnonymousRead(anon), Users: UserRead(users)}
}

func (a accessRules) canSearch(w *who) bool { return a.now().canSearch(w) }

func (a accessRules) canRead(w *who, e *entry, baseDN string) bool {
	return a.now().canRead(w, e, baseDN)
}

// who is the identity a connection is bound as.
type who struct {
	kind    directory.PrincipalKind
	anon    bool
	dn      string
	id      string
	account directory.BindAccount
	remote  string // the client's address
}

var anonymous = &who{anon: true}

func (w *who) isAccount(r directory.Right) bool {
	return !w.anon && w.kind == directory.KindBindAccount && w.account.Has(r)
}

// canSearch reports whether w may search at all below the base.
func (a Access) canSearch(w *who) bool {
	return !w.anon || a.Anonymous != AnonymousNone
}

// canRead reports whether w may see entry e.
func (a Access) canRead(w *who, e *entry, baseDN string) bool {
	switch {
	case e.kind == kindRootDSE || e.kind == kindSubschema:
		return true
	case w.anon:
		return a.Anonymous == AnonymousTree || (a.Anonymous == AnonymousBase && e.dn == baseDN)
	case w.kind == directory.KindBindAccount:
		return w.account.Has(directory.RightRead) || e.kind == kindContainer
	case e.id == w.id:
		return true
	case a.Users == UserReadSelf:
		return false
	}
	return e.kind != kindAccount
}

// canReadNTHash reports whether w may read sambaNTPassword.
func canReadNTHash(w *who) bool { return w.isAccount(directory.RightSamba) }

// canWrite reports whether w may change the directory over LDAP.
func canWrite(w *who) bool { return w.isAccount(directory.RightAdmin) }
