// Package logsafe keeps the log bounded when clients choose what goes into
// it: Clip shortens a value a client sent before it is logged, and
// LimitWarnings lets through only a few repeats of one warning at a time.
package logsafe
