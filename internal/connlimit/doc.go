// Package connlimit caps the connections one client address holds open at
// once, so that one client cannot take every connection slot of a server.
// The LDAP server asks it before serving a connection; the web server's
// listener is wrapped by it.
package connlimit
