// Package apachetest runs a private Apache httpd on a loopback port for one
// test, with the module and apache2.conf the test gives: the relying
// parties and service providers (mod_auth_openidc, mod_auth_mellon) that
// the oidc and samlidp tests sign in to.
package apachetest
