// Command atrium runs Atrium's server and manages its directory.
//
// Every subcommand that reads or changes the directory works whether or not
// `atrium serve` runs on the same data directory. bbolt lets one process
// hold the database file, so the server listens on a unix socket,
// DATA/admin.sock (mode 0600). The command first tries that socket: when a
// server answers, it sends the arguments (and a password it has already
// read or generated) and the server runs the very same subcommand code on
// its open directory. When no server answers, the command opens the store
// itself. One implementation, two transports.
//
// This package holds flags, configuration and wiring only; the rules live
// in package directory.
package main
