// Package portal owns the self-service pages: what a signed-in user sees
// at Atrium's root (their apps, password, sign-in methods, app passwords
// and recent sign-ins), to which the packages of second factors (otp,
// passkey, push) add their sections (AccountSection). Who is signed in,
// and signing in, are the signin package's.
package portal
