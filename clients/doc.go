// Package clients owns the connection guides for the devices and apps that
// use Atrium. One data file per client (data/*.yaml) holds every value a
// guide tells an admin to enter — DNs, ports and TLS, filters, attribute
// names, the bind account and its rights — and the requests the client
// sends, with what it needs back.
//
// Guide renders a client's guide for a server's settings; Markdown and
// Index turn guides into docs/clients; Run sends a guide's requests to a
// live server and checks the answers. The committed docs, an admin
// console's device pages and its Test button, and the tests that hold
// every guide against a running server all read this one rendering, so a
// guide cannot drift from what the server does. A field that a client
// sends (a base DN, a filter) names the request that carries it, and a
// test keeps the two equal.
package clients
