// Package totp owns the arithmetic of time-based one-time passwords (RFC
// 6238) as authenticator apps compute them: SHA1, 6 digits, 30-second
// steps. It finds which step a code belongs to, so the caller can refuse a
// step that was already used; storing that step is the directory's job.
package totp
