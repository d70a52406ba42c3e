// Package oidc is Atrium's OpenID Connect provider. It translates the
// protocol, spoken by the certified zitadel/oidc library, into directory
// calls: the directory keeps the clients (apps with OIDC settings), the
// authorization requests, single-use codes and token families, and rules
// on them; this package supplies the library's Storage over it, the
// claims, and the signing keyring (sealed in the store, rotated with
// overlap like the SAML certificate).
//
// It never draws a login page. /authorize parks the request in a sign-in
// flow (package signin), exactly as samlidp parks a SAML request; once the
// user has signed in, with a second factor when the app requires one, the
// flow resumes here, the app's group rule is applied, and the code goes
// back to the client.
package oidc
