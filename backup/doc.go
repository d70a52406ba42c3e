// Package backup owns copies of the store on disk: writing one atomically,
// taking them on a schedule and pruning the old ones, and checking that a
// copy is whole before anyone relies on it.
package backup
