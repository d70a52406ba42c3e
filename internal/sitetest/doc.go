// Package sitetest owns the web front of Atrium as tests serve it: the
// sign-in engine with its code factors, and the self-service pages, wired
// as cmd/atrium wires them, for the signin and portal tests.
package sitetest
