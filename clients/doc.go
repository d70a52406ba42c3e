// Package clients owns the connection guides for the devices and apps that
// use Atrium: one data file per client (data/*.yaml) holds every value a
// guide tells an admin to enter — DNs, ports and TLS, filters, attribute
// names, the bind account and its rights — and the searches the client
// sends. Guide renders one for a server's settings; the docs in
// docs/clients, the admin console's device pages and the tests that run
// those searches against a live server all read this one rendering, so a
// guide cannot drift from what the server does.
package clients
