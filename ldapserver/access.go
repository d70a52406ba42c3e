package ldapserver

import (
	"github.com/atrium-dir/atrium/directory"
)

// AnonymousRead is what a client that has not bound may read besides the
// root DSE and the schema.
type AnonymousRead string

const (
	AnonymousNone AnonymousRead = "none"
	AnonymousBase AnonymousRead = "base" // the base entry (Synology's check reads it)
	AnonymousTree AnonymousRead = "tree" // every non-secret attribute of every entry
)

// UserRead is what a user bound as themself may read.
type UserRead string

const (
	UserReadAll  UserRead = "all"  // people and groups, non-secret attributes
	UserReadSelf UserRead = "self" // their own entry only
)

// Access is the access policy of the LDAP front end.
type Access struct {
	Anonymous AnonymousRead
	Users     UserRead
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
