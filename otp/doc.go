// Package otp owns the one-time passwords a user types (RFC 8176 method
// "otp"), at sign-in and on the self-service page: a code from an
// authenticator app, and a recovery code standing in for a lost factor.
// At sign-in they plug into the engine like passkeys and push (Register):
// a code is a second factor or confirms the app's enrollment. On the
// self-service page, forms (SelfService) add an authenticator app and make
// new recovery codes, and sections the page draws post to them
// (AppSection, RecoverySection). The rules and the storage (the sealed
// TOTP secret, its last used step, the hashed recovery codes, backoff) are
// the directory's; the arithmetic of codes is package totp's.
package otp
