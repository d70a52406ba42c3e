// Package ldapbench measures Atrium's LDAP server against OpenLDAP's slapd
// on the same directory: it builds the data for both, starts each server
// as its own process on the same CPU, and drives them with one closed-loop
// load generator that speaks just enough LDAP to stay cheap, so the
// servers, not the client, set the pace. `make bench` runs it
// (BenchmarkAtriumVsSlapd).
package ldapbench
