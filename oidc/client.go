package oidc

import (
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/atrium-dir/atrium/directory"
)

// client is an OIDC app as the library sees it.
type client struct {
	app      directory.App
	loginURL func(id string) string
}

var _ op.Client = client{}

// clockSkew is small: mod_auth_openidc refuses an iat more than ten
// minutes off, and the library moves iat back by it.
const clockSkew = 5 * time.Second

func (c client) GetID() string                       { return c.app.OIDC.ClientID }
func (c client) RedirectURIs() []string              { return c.app.OIDC.RedirectURIs }
func (c client) PostLogoutRedirectURIs() []string    { return c.app.OIDC.PostLogoutURIs }
func (c client) LoginURL(id string) string           { return c.loginURL(id) }
func (c client) AccessTokenType() op.AccessTokenType { return op.AccessTokenTypeBearer }
func (c client) DevMode() bool                       { return false }
func (c client) ClockSkew() time.Duration            { return clockSkew }
func (c client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}

func (c client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeCode, oidc.GrantTypeRefreshToken}
}

// ApplicationType: a confidential client is a web app; a public one is
// treated as a user agent app, whose redirects must be https or loopback.
func (c client) ApplicationType() op.ApplicationType {
	if c.app.OIDC.Public {
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}

// AuthMethod: a confidential client may send its secret by Basic
// authentication or in the form (AuthMethodPost is on); the library
// accepts either for a client_secret_basic client.
func (c client) AuthMethod() oidc.AuthMethod {
	if c.app.OIDC.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}

func (c client) IDTokenLifetime() time.Duration {
	_, id, _ := c.app.OIDC.Lifetimes()
	return id
}

func (c client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

func (c client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// IsScopeAllowed admits the one scope beyond the standard ones Atrium
// answers.
func (c client) IsScopeAllowed(scope string) bool { return scope == scopeGroups }

// IDTokenUserinfoClaimsAssertion puts the profile, email and groups
// claims in the ID token too: Cloudflare Access and others read only it.
func (c client) IDTokenUserinfoClaimsAssertion() bool { return true }
