// Package password owns how Atrium hashes and verifies every stored
// password: argon2id for new hashes, the schemes OpenLDAP and JumpCloud
// export for imported ones, and the Samba NT hash; and, in a server, the
// low-priority (nice 10) worker processes (Workers) that compute the costly ones.
package password
