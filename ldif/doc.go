// Package ldif owns Atrium's LDIF: the shape of Atrium's tree of DNs
// (Layout), reading and writing RFC 2849 content records, and importing from
// and exporting to OpenLDAP.
//
// Import maps an OpenLDAP export (slapcat output, operational attributes
// included) or an Atrium export onto users and groups, keeping entryUUIDs,
// numbers, times and password hashes, and applies it in one transaction:
// either the whole file goes in or nothing does. Export writes LDIF that
// Import reads back into an identical directory and that OpenLDAP's slapadd
// accepts with Debian's stock schemas (see Export for the object classes
// chosen and why).
//
// ParseGeneralizedTime is Atrium's one reader of LDAP GeneralizedTime: the
// LDAP server's filters use it too, so a search and an import agree on every
// timestamp.
package ldif
