// Package password owns how Atrium hashes and verifies every stored
// password: argon2id for new hashes, the schemes OpenLDAP and JumpCloud
// export for imported ones, and the Samba NT hash.
package password
