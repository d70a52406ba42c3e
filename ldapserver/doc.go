// Package ldapserver owns Atrium's LDAP front end: it translates LDAP
// requests into directory calls and the answers back into LDAP, and holds
// no rule of its own about users or groups (package directory does).
//
// It splits into four parts:
//   - The wire: connections, limits and concurrency (server.go, conn.go),
//     decoding requests and controls (request.go, ber.go) and running each
//     operation (handler.go). The bytes of a message, framing and response
//     encoding, are in ldapserver/internal/lber, which the benchmark's load
//     generator shares.
//   - The tree: how directory records appear as entries, their DNs and
//     attributes (tree.go, backend.go), and the schema published at
//     cn=Subschema and used for matching (schema.go).
//   - Search: filters and their evaluation with each attribute's matching
//     rules (filter*.go), candidates from the directory's indexes rather
//     than a scan where a filter allows (search.go), and paging
//     (search_run.go).
//   - Access: who a connection is bound as and what that lets it read or
//     change (access.go), applied by the operations (ops.go, ops_write.go).
//
// Server is the listener and Backend answers the operations; cmd/atrium
// wires them to a directory.
package ldapserver
