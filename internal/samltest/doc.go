// Package samltest is test support: a SAML app (crewjam's
// ServiceProvider) on loopback that browser tests sign in to through
// Atrium, and that shows on its landing page what the assertion said.
package samltest
