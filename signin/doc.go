// Package signin owns signing in: the flows a sign-in waits in, the steps
// that advance them (the password, a second factor, enrolling one), the
// registry of second factors and enrollments that other packages plug in,
// the server-side sessions that prove who someone is, and the parked
// requests that resume once the user is signed in.
//
// A flow is advanced by steps: the password, then a second factor the user
// chooses among their enrolled kinds (SecondFactor; authenticator codes,
// passkeys and push plug in their own), or, where MFA is required of a user
// who has none, enrolling one (an Enrollment). When
// the last step is done the engine issues a fresh session and resumes
// whatever started the flow through a Continuation registered by the front
// end that parked it: a SAML request, a push approval, the self-service
// page. Front ends ask it who is signed in (Session, Account) and never
// draw a login page of their own.
//
// Until its password is accepted a flow is pending: sealed into the token
// that names it in the login page's URL, written nowhere on the server,
// and limited per client address (Options.FlowsPerMinute), so that
// visitors who never sign in cannot fill the store (see pending.go). From
// the password on it is a record in the store under a single-use id.
package signin
