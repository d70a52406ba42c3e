// Package console owns the admin console: the pages at /admin/ where
// members of the admin groups manage users, groups and the audit log, and
// the invite pages at /invite/ where a new user sets their password.
//
// The Apps pages add SAML apps through samlidp.Register and OIDC apps
// through directory.CreateOIDCApp with oidc's presets, as `atrium app add`
// does, and show what to paste into each app; the Cloudflare Access guide
// is the clients package's, filled in with this server's values.
//
// Every change calls the same directory operations as the CLI, so no rule
// lives only here; each is audited with the acting admin and their
// address. Signing in is the signin package's: a console session must
// have used a second factor (an admin without one enrolls first), and a
// change needs a recent sign-in, as self-service changes do.
//
// Search as you type (the users page, the member picker) goes over one
// WebSocket per page (live.go), each search checked as a request would be.
package console
