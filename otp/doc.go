// Package otp owns the sign-in steps of the one-time passwords a user types
// (RFC 8176 method "otp"): a code from an authenticator app, checked as a
// second factor or confirming the app's enrollment during sign-in, and a
// recovery code standing in for a lost factor. They plug into the sign-in
// engine like passkeys and push (Register). The rules and the storage (the
// sealed TOTP secret, its last used step, the hashed recovery codes,
// backoff) are the directory's; the arithmetic of codes is package totp's.
package otp
