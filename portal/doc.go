// Package portal owns every page a person sees: the login page, the
// sign-in flow that a SAML request (or a visit to the portal) waits in, the
// server-side sessions and their cookies, CSRF tokens and logout, and the
// self-service page (password, second factors, recovery codes, app
// passwords, recent sign-ins, apps), to which passkeys and push add their
// sections (AccountSection).
//
// A flow is a record in the store advanced by steps: the password, then a
// second factor the user chooses among their enrolled kinds (SecondFactor;
// passkeys and push plug in their own), or, where MFA is required of a
// user who has none, enrolling one (an authenticator app, or a kind added
// with AddEnrollment such as a passkey). When the last step is done the
// portal issues a fresh session and resumes whatever started the flow
// through a Continuation registered by the front end that parked it.
package portal
