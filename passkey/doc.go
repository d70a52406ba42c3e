// Package passkey owns WebAuthn for Atrium: the registration and sign-in
// ceremonies, and the passkey credentials, which it keeps as factors of
// kind "passkey" through the directory's factor store (the credential is
// the factor's sealed secret; only this package reads it).
//
// A ceremony's challenge and options live server-side in directory state
// under a random id, bound to the sign-in session (registration) or to the
// sign-in flow (the second-factor and enrollment steps), and are taken
// once. Passkeys then serve four callers: the self-service page (register
// one more passkey), the sign-in's second-factor step ("Use your passkey"),
// its enrollment step (a first passkey for a user who must use MFA) and
// push approvals, whose assertion must be user-verified and bound to the
// push transaction and the number the user picked.
package passkey
