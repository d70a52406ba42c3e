package directory

import "time"

// User is a person who signs in. It holds no secrets: credentials live in a
// separate record that only this package reads.
type User struct {
	ID            string    `json:"id"` // entryUUID: assigned once, never changed
	UID           string    `json:"uid"`
	Mail          string    `json:"mail"`
	GivenName     string    `json:"givenName,omitempty"`
	Surname       string    `json:"sn,omitempty"`
	DisplayName   string    `json:"displayName,omitempty"`
	UIDNumber     int       `json:"uidNumber"`
	GIDNumber     int       `json:"gidNumber"`
	HomeDirectory string    `json:"homeDirectory"`
	LoginShell    string    `json:"loginShell"`
	SSHKeys       []string  `json:"sshKeys,omitempty"`
	Disabled      bool      `json:"disabled,omitempty"`
	Created       time.Time `json:"created"`
	Modified      time.Time `json:"modified"`
	// PasswordChanged is when the password was last set (zero if never).
	PasswordChanged time.Time `json:"passwordChanged,omitzero"`
	// SMBFailures is what Samba file servers last reported of wrong SMB
	// passwords (see ReportSMBFailures).
	SMBFailures SMBFailures `json:"smbFailures,omitzero"`
}

// CommonName is the name shown for the user: the display name, else
// "given surname", else the uid.
func (u User) CommonName() string {
	switch {
	case u.DisplayName != "":
		return u.DisplayName
	case u.GivenName != "" && u.Surname != "":
		return u.GivenName + " " + u.Surname
	case u.Surname != "":
		return u.Surname
	case u.GivenName != "":
		return u.GivenName
	}
	return u.UID
}

// Group is a set of users and other groups.
type Group struct {
	ID          string    `json:"id"` // entryUUID
	CN          string    `json:"cn"`
	Description string    `json:"description,omitempty"`
	GIDNumber   int       `json:"gidNumber"`
	Users       []string  `json:"users,omitempty"`  // IDs of member users
	Groups      []string  `json:"groups,omitempty"` // IDs of member groups
	Created     time.Time `json:"created"`
	Modified    time.Time `json:"modified"`
}

// Right is something a bind account may do.
type Right string

const (
	RightRead  Right = "read"  // search the directory
	RightSamba Right = "samba" // also read Samba NT hashes
	RightAdmin Right = "admin" // change the directory
)

// AllRights lists every right, in order.
var AllRights = []Right{RightRead, RightSamba, RightAdmin}

// BindAccount is a service identity for a device or app that searches the
// directory (cn=<name>,ou=services,<base> over LDAP).
type BindAccount struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Rights   []Right   `json:"rights"`
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
	// LastUsed is the last successful bind, to the hour (see useInterval).
	LastUsed time.Time `json:"lastUsed,omitzero"`
}

// Has reports whether the account holds right r. Admin implies every right.
func (a BindAccount) Has(r Right) bool {
	for _, have := range a.Rights {
		if have == r || have == RightAdmin {
			return true
		}
	}
	return false
}

// AppPassword describes one named device password; the secret itself is
// shown once, at creation.
type AppPassword struct {
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"lastUsed,omitzero"`
}

// credentials is the secret half of a user or bind account, stored apart
// from the record so that nothing outside this package can leak it.
type credentials struct {
	Password     string           `json:"password,omitempty"` // scheme-prefixed hash
	NTSealed     []byte           `json:"ntSealed,omitempty"` // Samba, when enabled: the NT hash, sealed (see ntPurpose)
	AppPasswords []appPasswordRec `json:"app,omitempty"`
}

type appPasswordRec struct {
	AppPassword
	Hash string `json:"hash"`
}
