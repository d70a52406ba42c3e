// Package push owns push approvals with number matching: the VAPID keys,
// the phones' Web Push subscriptions (stored as "push" factors), the
// approval transactions with their guardrails, sending the notification,
// and the pages where a user answers it on the phone.
//
// A sign-in creates a Transaction holding a random two-digit number that
// the login page shows. The phone gets a notification without that number;
// its approval page offers three numbers, and only the right one confirmed
// with the phone's passkey approves. A wrong number, Deny or "this wasn't
// me" refuses; the last also suspends push for the user until they turn it
// back on or an admin resets their MFA (the directory keeps the flag).
package push
