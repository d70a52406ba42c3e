// Package samlidp is Atrium's SAML 2.0 identity provider. It owns app
// registration (SP metadata, presets, attribute release), the signing
// keyring and its rotation, IdP metadata, and the SSO endpoint: it parses
// and checks AuthnRequests itself, parks them in a sign-in flow (package signin),
// and answers with a Response and Assertion both signed with RSA-SHA256.
// crewjam/saml supplies the SAML types, signing and encryption.
package samlidp
