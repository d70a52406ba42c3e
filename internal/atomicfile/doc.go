// Package atomicfile writes a file whole or not at all: a reader, or a
// start after a crash, sees either the old contents or the complete new
// ones, never part of them.
package atomicfile
