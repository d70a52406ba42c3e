// Package progress draws the progress line of a long command (import,
// export, backup, restore) on a terminal: how much is done, the rate and
// the time left. Off a terminal it draws nothing, so scripts and logs see
// only the command's own output.
package progress
