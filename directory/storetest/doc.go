// Package storetest is the conformance suite every directory.Store backend
// must pass: the key-value contract itself, and the directory's invariants
// (uniqueness under concurrency, index consistency, nesting, cascades) when
// run on top of the backend.
package storetest
