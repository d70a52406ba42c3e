// Package boltstore is the default storage engine of a directory: one bbolt
// file, opened by exactly one process at a time.
package boltstore
