// Package directory owns Atrium's model — users, groups, bind accounts and
// their credentials — and every rule about it: unique names and numbers
// (users and groups share one range), stable entryUUIDs, members that
// exist, a primary group that is the user's private group or a group the
// user is in (numbers.go, privgroup.go), nesting without cycles, password
// hashing (a user sets their own password in clear, under the policy; only
// admins and imports give hashes, which must parse), secrets sealed with
// the secrets key (TOTP seeds, NT hashes), second factors and the policy
// that requires them, backoff against guessing, the audit log, and the
// apps users sign in to: SAML service providers and OpenID Connect
// clients, with the clients' codes, tokens and their revocation
// (oidctokens.go), and the run-time settings admins change while Atrium
// runs, the configuration's winning (settings.go, settingstore.go).
//
// Front ends (LDAP, SAML, the portal) call a *Directory; none of them touch
// the storage engine. Storage is a small transactional ordered key-value
// interface (Store); records and their secondary indexes are written by this
// package in the same transaction, so every backend gets the same invariants.
package directory
