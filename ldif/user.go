package ldif

import (
	"strconv"

	"github.com/atrium-dir/atrium/directory"
)

// UserAttributes is the one mapping of a user to LDAP attributes, shared by
// the LDAP server's tree and by Export, so that what a client reads and
// what a file holds agree. It calls add once per attribute, in a fixed
// order. Left to the caller: operational attributes (entryUUID and the
// timestamps), memberOf, and Samba's attributes, which depend on where the
// entry goes; extraClasses are added to objectClass for them. keys says
// whether SSH keys go in (they need the openssh-lpk schema).
//   - sn repeats the uid when the user has no surname: inetOrgPerson
//     requires one.
//   - displayName and gecos are the common name (gecos only in ASCII, its
//     syntax).
//   - A disabled user has shadowExpire 1 (expired in 1970), which PAM,
//     nslcd and SSSD's ldap_access_order = expire honour.
func UserAttributes(u directory.User, keys bool, extraClasses []string, add func(name string, values ...string)) {
	keys = keys && len(u.SSHKeys) > 0
	classes := make([]string, 0, 8)
	classes = append(classes, "top", "person", "organizationalPerson", "inetOrgPerson", "posixAccount", "shadowAccount")
	if keys {
		classes = append(classes, "ldapPublicKey")
	}
	add("objectClass", append(classes, extraClasses...)...)
	add("uid", u.UID)
	cn := u.CommonName()
	add("cn", cn)
	sn := u.Surname
	if sn == "" {
		sn = u.UID
	}
	add("sn", sn)
	if u.GivenName != "" {
		add("givenName", u.GivenName)
	}
	add("displayName", cn)
	if u.Mail != "" {
		add("mail", u.Mail)
	}
	add("uidNumber", strconv.Itoa(u.UIDNumber))
	add("gidNumber", strconv.Itoa(u.GIDNumber))
	add("homeDirectory", u.HomeDirectory)
	add("loginShell", u.LoginShell)
	if isASCII(cn) {
		add("gecos", cn)
	}
	if keys {
		add("sshPublicKey", u.SSHKeys...)
	}
	if !u.PasswordChanged.IsZero() {
		add("shadowLastChange", strconv.FormatInt(days(u.PasswordChanged), 10))
	}
	if u.Disabled {
		add("shadowExpire", "1")
	}
}

// isASCII reports whether s is printable ASCII, as gecos (IA5String) needs.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 || s[i] < 0x20 {
			return false
		}
	}
	return true
}
