// Package lber owns the bytes of an LDAP message: framing one BER-encoded
// LDAPMessage off a stream, with its size checked before anything is
// allocated; reading a TLV's header and a message's envelope; and encoding
// the envelope and the LDAPResult shape of responses (RFC 4511 section 4.1).
//
// It is hand-written rather than built on go-asn1-ber because it is the
// hot path of every response: one allocation per message, no reflection.
// The LDAP server uses it, and so do its benchmark's load generator and
// null server, so that there is one framing to trust.
package lber
